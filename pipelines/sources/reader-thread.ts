// The frame reader's thread (D154): a worker_thread of the supervisor's process running FrameReader
// (reader-core.ts). In: the supervisor's headers. Out: {header, body?}; a thumbnail's memory is
// transferred, not copied. An exception here ends the thread, and SharedFrames restarts every camera.
import { parentPort } from 'node:worker_threads';
import { FrameReader, type ReaderHeader } from './reader-core.js';

const port = parentPort!;
const reader = new FrameReader((header, body) => {
  // a thumbnail that owns its whole buffer moves to the main thread; anything else is copied
  const whole = body && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
  port.postMessage(body ? { header, body } : { header }, whole ? [body.buffer as ArrayBuffer] : []);
});
port.on('message', (h: ReaderHeader) => {
  if (!reader.handle(h)) process.exit(0); // in a worker thread this ends the thread only
});
port.postMessage({ header: { type: 'hello' } });
