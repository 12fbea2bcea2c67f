// The embedded MQTT broker (aedes) for the out-of-the-box default: used only when no broker URL is
// configured, bound to 127.0.0.1.
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port: number, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle as unknown as (s: import('node:net').Socket) => void);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`embedded MQTT broker cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (set mqtt.url to use that broker, or mqtt.embeddedPort)' : e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as import('node:net').AddressInfo).port;
  return {
    url: `mqtt://${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
        // Clients that keep sockets open must not hold the shutdown.
        setTimeout(resolve, 1000).unref();
      }),
  };
}
