// edgectl's usage, one entry per command: an error prints its one line and that command's entry;
// `edgectl help` (or no command) prints them all.
const MQTT = `MQTT options (flags beat $MOBILENET_EDGE_MQTT_URL / $MOBILENET_EDGE_MQTT_PASSWORD, which beat the profile):
          --profile NAME --broker URL --site SITE --username U --password P --ca FILE --cert FILE --cert-key FILE`;

export const COMMANDS: Record<string, string> = {
  init: `init    --broker URL [--site SITE] [--key KEY.pem] [--username U] [--password-file F | --password P] [--ca FILE]
          [--cert FILE --cert-key FILE] [--canary N|P%] [--wave N|P%] [--profile NAME] [--default] [--force]
          write the edgectl config (~/.config/edgectl/config.json, or $EDGECTL_CONFIG) that push, status,
          models, rollback and rollout read; without --key a signing key pair is made beside it`,
  push: `push    model.onnx [--group G | --device ID ... | --all | --local [--state-dir DIR]] [--canary N|P%] [--wave N|P%]
          [--version V] [--manifest model.json | --labels labels.txt [--name N] [--output-kind logits|probabilities]
          [--preprocess mobilenet|imagenet|unit]] [--key KEY.pem] [--timeout SEC] [--probation-grace SEC] [--chunk-kb N]
          sign and send a model, staged: canaries first (default 1 when more than one device) and their probation
          verdicts, then waves (default 25%); stops at the first failure. The manifest beside the file is used,
          else labels and preprocessing from its ONNX metadata (then --version V is needed). Without a target:
          every device of the site. Exit 0 when every device runs it, 1 otherwise.
          ${MQTT}`,
  rollout: `rollout status | resume | abort [--rollback]   [--profile NAME] [MQTT options]
          the site's rollout on this machine: show it, resume an interrupted one, or abort it (--rollback: send
          the devices that took the model back to their previous version; signed with the profile's key)`,
  status: `status  [--profile NAME] [MQTT options]   what every device runs (retained model state), its groups, and the rollout in progress
          ${MQTT}`,
  models: `models  --device ID [--profile NAME] [MQTT options]   the versions a device keeps
          ${MQTT}`,
  rollback: `rollback --device ID [--key KEY.pem] [--profile NAME] [MQTT options]
          switch a device back to its previous version (a signed command: devices refuse unsigned ones)
          ${MQTT}`,
  keygen: `keygen  --out DIR
          make an ed25519 signing key pair (DIR/signing-key.pem, DIR/signing-key.pub.pem)`,
  watch: `watch   [--broker URL] [--site SITE] [--camera ID] [--count N] [--people] [--username U] [--password P] [--ca F] [--cert F --cert-key F]
          subscribe to results and print them as a table (default broker mqtt://127.0.0.1:1883);
          --people: people (enter / verdict / leave events) instead of frames`,
  eval: `eval    <folder> --model model.json [--json] [--mistakes] [--split split.json [--baseline base.json] [--report OUT.md]]
          accuracy, per-class precision/recall and confusion matrix on <folder>/<label>/*.jpg;
          --split: only the held-out slice written by train; --baseline: the same for the base model (before/after);
          --report: Markdown + SVG confusion matrices beside it; prints the decision rule and the precision/recall curve
  eval    --scenes DIR [--model model.json] [--detector det.json] [--score-threshold T] [--min-face-size PX] [--frame-label-min-face PX] [--json]
          the faces pipeline on photos with ground truth (DIR/faces.json): faces found, found and labelled right,
          false boxes, per class and face size, and each photo's frame label`,
  annotate: `annotate <image> -o <out.jpg> [--config FILE] [--model model.json] [--detector detector.json] [--json]
          run the faces pipeline (detector, crops, classifier) on a picture and draw boxes, labels, scores`,
  collect: `collect --camera ID --out DIR [--every 2s] [--count N] [--faces] [--url http://127.0.0.1:9464] [--token T]
          save frames (or the face crops the classifier saw) from a running daemon into DIR/unlabelled/
          (needs preview.enabled on the daemon; sort them into DIR/<label>/ for train)`,
  train: `train   <folder> --base model.json -o OUT/ [--labels a,b,c] [--min-per-class N] [--seed N] [--epochs N]
          [--patience N] [--held-out F] [--version V] [--name NAME]
          adapt a model to a site: frozen base up to its features, new head trained on <folder>/<label>/*.jpg;
          writes OUT/model.onnx (labels and preprocessing in its ONNX metadata too), OUT/model.json, OUT/split.json`,
  acl: `acl     --site SITE --device ID:CAM1,CAM2 ... [--operator edgectl] [--homeassistant PREFIX]
          print a mosquitto acl_file: each device publishes only its own topics (deploy/mosquitto/)`,
};

export const usageOf = (cmd: string): string => `usage: edgectl ${COMMANDS[cmd] ?? '<command> [options]   (edgectl help: every command)'}`;

export const MANUAL = `usage: edgectl <command> [options]

commands:
${Object.values(COMMANDS).map((c) => `  ${c.replace(`\n          ${MQTT}`, '')}`).join('\n')}

${MQTT.replace('\n         ', '\n ')}`;

/** A mistake in how a command was called: one line, then that command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}
