import { connect as netConnect, type Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

// A TCP connection for the storm's wire path, in two transports with one contract:
// - `handle`: libuv's TCP handle as `net` itself drives it (process.binding('tcp_wrap'), the same objects
//   net.Socket wraps). A storm opens thousands a second and reads a few packets from each; net.Socket's
//   stream machinery (a Duplex, its two states, its events) was most of the client's user time per
//   connection (bench/storm.ts's header has the profile).
// - `net`: net.Socket, for a Node whose bindings differ from what `handle` expects (checked once, at load).

/** What a wire socket reports to its owner; never called after the owner's `close()`. */
export interface WireReceiver {
  /** The TCP connection is up. */
  onConnected(): void;
  /** Bytes arrived; the view is valid only during the call (the read buffer is shared). */
  onBytes(bytes: Buffer): void;
  /** The connection ended: an error, or none when the peer closed it. Called at most once. */
  onEnded(error?: Error): void;
}

export interface WireSocket {
  write(bytes: Buffer): void;
  /** Writes the bytes and closes; the FIN follows them. */
  writeAndClose(bytes: Buffer): void;
  close(): void;
}

export type WireTransport = 'handle' | 'net';

/** Every socket reads into this one buffer: a chunk's packets are handled before the next read. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

function systemError(status: number, syscall: string): Error {
  const code = getSystemErrorName(status);
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno: status, syscall });
}

// The shapes of net's own bindings, as much as this file uses (lib/net.js and lib/internal/stream_base_commons.js).
interface TcpHandle {
  connect(request: object, address: string, port: number): number;
  setNoDelay(on: boolean): number;
  useUserBuffer(buffer: Uint8Array): void;
  readStart(): number;
  writeBuffer(request: object, bytes: Uint8Array): number;
  close(callback?: () => void): void;
  onread: (this: TcpHandle) => void;
  wire: HandleSocket | undefined;
}
interface TcpBindings {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => { oncomplete: (status: number, handle: TcpHandle) => void };
  constants: { SOCKET: number };
}
interface WriteRequest {
  handle: TcpHandle;
  oncomplete: (this: WriteRequest, status: number) => void;
  buffer: Uint8Array;
  closeAfter: boolean;
}
interface StreamBindings {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

function loadBindings(): { tcp: TcpBindings; stream: StreamBindings } | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): unknown }).binding;
    const tcp = binding('tcp_wrap') as TcpBindings;
    const stream = binding('stream_wrap') as StreamBindings;
    const handle = tcp.TCP.prototype as unknown as Record<string, unknown>;
    const usable =
      typeof tcp.TCPConnectWrap === 'function' &&
      typeof stream.WriteWrap === 'function' &&
      stream.streamBaseState instanceof Int32Array &&
      typeof stream.kReadBytesOrError === 'number' &&
      typeof stream.kLastWriteWasAsync === 'number' &&
      ['connect', 'setNoDelay', 'useUserBuffer', 'readStart', 'writeBuffer', 'close'].every((method) => typeof handle[method] === 'function');
    return usable ? { tcp, stream } : undefined;
  } catch {
    return undefined;
  }
}

const bindings = loadBindings();

/** The transport this Node supports best: `handle` when its bindings look as expected. */
export const DEFAULT_WIRE_TRANSPORT: WireTransport = bindings ? 'handle' : 'net';

function afterConnect(status: number, handle: TcpHandle): void {
  const socket = handle.wire;
  if (!socket || socket.closed) return;
  if (status < 0) {
    socket.end(systemError(status, 'connect'));
    return;
  }
  handle.setNoDelay(true);
  handle.useUserBuffer(READ_BUFFER);
  const error = handle.readStart();
  if (error < 0) socket.end(systemError(error, 'read'));
  else socket.receiver.onConnected();
}

function onRead(this: TcpHandle): void {
  const socket = this.wire;
  if (!socket || socket.closed) return;
  const { streamBaseState, kReadBytesOrError } = bindings!.stream;
  const read = streamBaseState[kReadBytesOrError]!;
  if (read > 0) socket.receiver.onBytes(READ_BUFFER.subarray(0, read));
  // UV_EOF: the peer closed; another negative number is a read error.
  else if (read < 0) socket.end(getSystemErrorName(read) === 'EOF' ? undefined : systemError(read, 'read'));
}

function afterWrite(this: WriteRequest, status: number): void {
  const socket = this.handle.wire;
  if (this.closeAfter) this.handle.close();
  if (!socket || socket.closed) return;
  if (status < 0) socket.end(systemError(status, 'write'));
}

/** A libuv TCP handle driven directly, as net.Socket drives it, without the stream around it. */
class HandleSocket implements WireSocket {
  closed = false;
  private readonly handle: TcpHandle;

  constructor(
    host: string,
    port: number,
    readonly receiver: WireReceiver,
  ) {
    const { tcp } = bindings!;
    this.handle = new tcp.TCP(tcp.constants.SOCKET);
    this.handle.wire = this;
    this.handle.onread = onRead;
    const request = new tcp.TCPConnectWrap();
    request.oncomplete = afterConnect;
    const error = this.handle.connect(request, host, port);
    // A connect that fails at once (no ports left, a bad address) is reported as a later one is: asynchronously.
    if (error < 0) queueMicrotask(() => this.end(systemError(error, 'connect')));
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.send(bytes, false);
  }

  writeAndClose(bytes: Buffer): void {
    if (this.closed) return;
    this.closed = true;
    this.send(bytes, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }

  /** The peer closed, or an error: the owner hears it once, and the handle is closed. */
  end(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
    this.receiver.onEnded(error);
  }

  private send(bytes: Buffer, closeAfter: boolean): void {
    const { stream } = bindings!;
    const request = new stream.WriteWrap();
    request.handle = this.handle;
    request.oncomplete = afterWrite;
    // Kept until the write completes, when it did not complete at once.
    request.buffer = bytes;
    request.closeAfter = closeAfter;
    const error = this.handle.writeBuffer(request, bytes);
    const pending = error === 0 && stream.streamBaseState[stream.kLastWriteWasAsync] === 1;
    if (closeAfter && !pending) this.handle.close();
    if (error < 0 && !closeAfter) this.end(systemError(error, 'write'));
  }
}

/** net.Socket with the same contract, reading into the shared buffer through `onread`. */
class NetSocket implements WireSocket {
  private closed = false;
  private readonly socket: Socket;

  constructor(host: string, port: number, receiver: WireReceiver) {
    this.socket = netConnect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array) => {
          if (!this.closed) receiver.onBytes((buffer as Buffer).subarray(0, bytes));
          return true;
        },
      },
    });
    const ended = (error?: Error) => {
      if (this.closed) return;
      this.closed = true;
      this.socket.destroy();
      receiver.onEnded(error);
    };
    this.socket.on('connect', () => {
      if (!this.closed) receiver.onConnected();
    });
    this.socket.on('error', ended);
    this.socket.on('close', () => ended());
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  writeAndClose(bytes: Buffer): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end(bytes);
    // Written at once (the usual case): close now; else once it is flushed.
    if (this.socket.writableLength === 0) this.socket.destroy();
    else this.socket.once('finish', () => this.socket.destroy());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}

/** Opens a TCP connection to host:port; `receiver` hears that it is up, its bytes, and its end. */
export function openWireSocket(host: string, port: number, receiver: WireReceiver, transport: WireTransport = DEFAULT_WIRE_TRANSPORT): WireSocket {
  if (transport === 'handle' && bindings) return new HandleSocket(host, port, receiver);
  return new NetSocket(host, port, receiver);
}
