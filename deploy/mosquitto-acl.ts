// The broker ACL for a site (mosquitto acl_file syntax), one block per device: a device may publish
// only under {site}/{its cameras}/# and {site}/{its deviceId}/#, and read only its own model/push
// and model/rollback; the operator account (edgectl) may publish pushes and read everything.
// Usernames are device ids. `edgectl acl` prints it; deploy/mosquitto/acl.example is one. Pure.

export interface AclDevice {
  deviceId: string;
  cameras: string[];
}

const SAFE = /^[A-Za-z0-9_-]{1,64}$/;

export function mosquittoAcl(o: { site: string; devices: AclDevice[]; operator?: string; homeassistantPrefix?: string }): string {
  const bad = [o.site, o.operator ?? 'edgectl', ...o.devices.flatMap((d) => [d.deviceId, ...d.cameras])].filter((x) => !SAFE.test(x));
  if (bad.length) throw new Error(`not topic-safe (A-Z a-z 0-9 _ -, 1..64): ${bad.join(', ')}`);
  const clashes = nameClashes(o.devices, o.operator ?? 'edgectl');
  if (clashes.length) throw new Error(`name clash (each device and camera writes {site}/{name}/#, so names must be unique): ${clashes.join('; ')}`);
  const s = o.site;
  const lines = [
    `# mosquitto acl_file for site "${s}" (made by edgectl acl). Usernames are device ids.`,
    '# Anything not granted here is refused: a QoS 1 publish gets reason code 135 (MQTT 5),',
    '# a subscription to a topic a client may not read delivers nothing.',
    '',
    `user ${o.operator ?? 'edgectl'}`,
    `topic readwrite ${s}/#`,
    ...(o.homeassistantPrefix ? [`topic read ${o.homeassistantPrefix}/#`] : []),
  ];
  for (const d of o.devices) {
    lines.push('', `user ${d.deviceId}`, `topic write ${s}/${d.deviceId}/#`);
    for (const c of d.cameras) lines.push(`topic write ${s}/${c}/#`);
    lines.push(`topic read ${s}/${d.deviceId}/model/push`, `topic read ${s}/${d.deviceId}/model/rollback`);
    // Home Assistant discovery configs (daemon/mqtt/homeassistant.ts): {prefix}/<component>/{site}_{device}_{camera}_<what>/config
    const p = o.homeassistantPrefix;
    if (p) for (const c of d.cameras) lines.push(`topic write ${p}/sensor/${s}_${d.deviceId}_${c}_mask/config`, `topic write ${p}/binary_sensor/${s}_${d.deviceId}_${c}_no_mask/config`, `topic write ${p}/sensor/${s}_${d.deviceId}_${c}_faces/config`);
  }
  return lines.join('\n') + '\n';
}

/** Names used twice: a camera named like a device (or like another device's camera) would let one device write the other's topics. */
export function nameClashes(devices: AclDevice[], operator: string): string[] {
  const owner = new Map<string, string>();
  const out: string[] = [];
  const claim = (name: string, what: string) => {
    const had = owner.get(name);
    if (had) out.push(`"${name}" is ${had} and ${what}`);
    else owner.set(name, what);
  };
  claim(operator, 'the operator account');
  for (const d of devices) claim(d.deviceId, `device ${d.deviceId}`);
  for (const d of devices) for (const c of d.cameras) claim(c, `a camera of ${d.deviceId}`);
  return out;
}

/** "gate-jetson:gate-north,gate-south" → { deviceId, cameras }. */
export function parseAclDevice(arg: string): AclDevice {
  const [deviceId, cams = ''] = arg.split(':');
  return { deviceId, cameras: cams ? cams.split(',') : [] };
}
