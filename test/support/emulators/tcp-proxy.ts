import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of an emulator, so a test can take the "network" away: `cut()` resets
 * every open connection and refuses new ones (as a dead host's port does), `restore(port)`
 * accepts again, towards the same or a restarted emulator. Clients keep one address all along.
 */
export interface TcpProxy {
  /** `127.0.0.1:port` for the clients. */
  host: string;
  cut(): Promise<void>;
  restore(targetPort?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const handle = (client: Socket) => {
    track(client);
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  };
  let server: Server = createServer(handle);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const port = await listen(0);
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    host: `127.0.0.1:${port}`,
    async cut() {
      const closed = stopListening();
      for (const socket of sockets) socket.resetAndDestroy();
      await closed;
    },
    async restore(targetPort?: number) {
      if (targetPort !== undefined) target = targetPort;
      server = createServer(handle);
      await listen(port);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      if (server.listening) await stopListening();
    },
  };
}
