// Worker side of the engine protocol: read frames from stdin, write frames to stdout.
// Anything a worker wants to log must go to stderr; stdout carries only protocol frames.
// stdin is read with a socket on fd 0 in `onread` mode through a MessageReader: each read lands
// where the message needs it and a camera frame's body reuses the buffer of an earlier one.
import { Socket, type SocketConstructorOpts } from 'node:net';
import { encode, type Message } from './protocol.js';
import { MessageReader } from './message-reader.js';

export function serveStdio(onMessage: (m: Message) => void | Promise<void>): (header: { type: string; [k: string]: unknown }, body?: Buffer) => void {
  // Keep stray console.log calls (ours or a library's) off the protocol stream.
  console.log = console.error;
  console.info = console.error;
  const reader = new MessageReader();
  const protocolError = (e: unknown) => {
    process.stderr.write(`engine worker: protocol error on stdin: ${(e as Error).message}\n`);
    process.exit(65);
  };
  // `onread` in the constructor is Node's (v12.2+); @types/node 20 lists it for connect() only.
  const stdin = new Socket({
    fd: 0,
    readable: true,
    writable: false,
    onread: {
      buffer: () => reader.target(),
      callback: (n: number) => {
        let m;
        try {
          m = reader.advance(n);
        } catch (e) {
          protocolError(e);
          return false;
        }
        // The body is released once the handler is done with it (a failed handler too).
        if (m) void new Promise<void>((resolve) => resolve(onMessage(m))).finally(m.release);
        return true;
      },
    },
  } as SocketConstructorOpts);
  // The supervisor went away: nothing left to serve.
  stdin.on('end', () => process.exit(0));
  stdin.on('error', () => process.exit(0));
  process.stdout.on('error', () => process.exit(0));
  return (header, body) => {
    process.stdout.write(encode(header, body));
  };
}
