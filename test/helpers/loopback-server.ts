import { once } from 'node:events';
import type http from 'node:http';

export interface LoopbackServer {
  url: string;
  /** Close the server and every connection still open on it (a held stream included). */
  close(): Promise<void>;
}

/** Listen on a free loopback port; the fake upstreams and targets of the runtime tests. */
export async function listenOnLoopback(server: http.Server): Promise<LoopbackServer> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the test server has no TCP address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
