#!/usr/bin/python3
"""Write model.json for Coral's SSD MobileNet V2 face detector (the _edgetpu.tflite and the CPU .tflite
in DIR), read from the files themselves: input name and size, the four TFLite_Detection_PostProcess
outputs (boxes, classes, scores, count), sha256 of each file. Run by deploy/coral/install.sh.

  face-detector-manifest.py DIR
"""
import hashlib, json, os, sys
det = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'pipelines', 'engines', 'edgetpu'))
from tflite_model import read_model
tpu, cpu = 'ssd_mobilenet_v2_face_quant_postprocess_edgetpu.tflite', 'ssd_mobilenet_v2_face_quant_postprocess.tflite'
data = {f: open(os.path.join(det, f), 'rb').read() for f in (tpu, cpu)}
info = read_model(data[tpu])
i = info['inputs'][0]
outs = [o['name'] for o in info['outputs']]  # TFLite_Detection_PostProcess: boxes, classes, scores, count
sha = {f: hashlib.sha256(b).hexdigest() for f, b in data.items()}
m = {'format': 'mobilenet-edge/model@1', 'name': 'coral-ssd-mobilenet-v2-face', 'version': sha[tpu][:12], 'task': 'detect',
     'engine': 'edgetpu', 'file': tpu, 'sha256': sha[tpu], 'files': [{'engine': 'tflite', 'file': cpu, 'sha256': sha[cpu]}],
     'input': {'name': i['name'], 'layout': 'NHWC', 'width': i['shape'][2], 'height': i['shape'][1], 'colorOrder': 'RGB', 'resize': 'stretch'},
     'preprocess': {'scale': 1, 'mean': [128, 128, 128], 'std': [128, 128, 128]},
     'output': {'name': outs[2], 'kind': 'probabilities'},
     'detect': {'boxes': outs[0], 'boxFormat': 'ssd-postprocess', 'count': outs[3], 'scoreThreshold': 0.5, 'iouThreshold': 0.5},
     'labels': ['background', 'face']}
with open(os.path.join(det, 'model.json'), 'w') as f:
    json.dump(m, f, indent=2)
print('face detector: %s/model.json (sha256 %s %s)' % (det, tpu, sha[tpu]))
