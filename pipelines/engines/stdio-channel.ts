// Worker side of the engine protocol: read frames from stdin, write frames to stdout.
// Anything a worker wants to log must go to stderr; stdout carries only protocol frames.
import { encode, FrameDecoder, type Message } from './protocol.js';

export function serveStdio(onMessage: (m: Message) => void | Promise<void>): (header: { type: string; [k: string]: unknown }, body?: Buffer) => void {
  // Keep stray console.log calls (ours or a library's) off the protocol stream.
  console.log = console.error;
  console.info = console.error;
  const decoder = new FrameDecoder();
  process.stdin.on('data', (chunk: Buffer) => {
    let msgs: Message[];
    try {
      msgs = decoder.push(chunk);
    } catch (e) {
      process.stderr.write(`engine worker: protocol error on stdin: ${(e as Error).message}\n`);
      process.exit(65);
    }
    for (const m of msgs) void onMessage(m);
  });
  // The supervisor went away: nothing left to serve.
  process.stdin.on('end', () => process.exit(0));
  process.stdout.on('error', () => process.exit(0));
  return (header, body) => {
    process.stdout.write(encode(header, body));
  };
}
