// The Edge TPU worker's pure Python modules (TFLite flatbuffer reader, quantisation maths,
// protocol framing): their unittest suite under Debian's /usr/bin/python3, and the reader's
// command line on the Coral fixtures.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EDGETPU_PYTHON } from '../../pipelines/engines/client.js';

const root = join(import.meta.dirname, '..', '..');

t.test('python unittest suite passes', async (t) => {
  const r = spawnSync(EDGETPU_PYTHON, ['-B', '-m', 'unittest', '-v', 'test_edgetpu'], { cwd: join(root, 'test', 'python'), encoding: 'utf8' });
  const ran = /Ran (\d+) tests?/.exec(r.stderr);
  t.ok(ran, 'unittest reports what it ran');
  t.ok(Number(ran?.[1]) >= 12, `ran ${ran?.[1]} tests`);
  t.match(r.stderr, /\nOK\n?$/, 'unittest says OK');
  t.equal(r.status, 0, r.stderr.split('\n').filter((l) => /FAIL|ERROR/.test(l)).join('\n'));
});

t.test('tflite_model.py reads the Coral fixtures (shape, quantisation, Edge TPU op)', async (t) => {
  const read = (f: string) => {
    const r = spawnSync(EDGETPU_PYTHON, ['-B', join(root, 'pipelines/engines/edgetpu/tflite_model.py'), join(root, 'test/fixtures/coral', f)], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const cpu = read('mobilenet_v1_0.25_128_quant.tflite');
  t.same(cpu.inputs, [{ name: 'input', shape: [1, 128, 128, 3], type: 'uint8', scale: 0.0078125, zeroPoint: 128 }]);
  t.same(cpu.outputs[0].shape, [1, 1001]);
  t.equal(cpu.edgetpu, false);
  const tpu = read('mobilenet_v1_0.25_128_quant_edgetpu.tflite');
  t.equal(tpu.edgetpu, true);
  t.same(tpu.inputs, cpu.inputs);
  t.same(tpu.outputs, cpu.outputs);
  const bad = spawnSync(EDGETPU_PYTHON, ['-B', join(root, 'pipelines/engines/edgetpu/tflite_model.py'), join(root, 'test/fixtures/coral/SOURCES.md')], { encoding: 'utf8' });
  t.equal(bad.status, 65);
  t.match(bad.stderr, /not a TFLite model/);
});
