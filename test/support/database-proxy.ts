import { BSON, type Document } from 'mongodb';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const OP_MSG = 2013;
const HEADER_BYTES = 16;
/** Bodies above this are not decoded (chunk inserts): their command name and collection are enough. */
const DECODE_LIMIT = 64 * 1024;

/** One command a client sent, as the proxy read it off the wire. */
export interface WireCommand {
  /** The command's name: `find`, `findAndModify`, `insert`, `update`, `delete`, ... */
  name: string;
  /** Its first field's value: the collection, for the commands above. */
  collection: unknown;
  /** The whole command document, when it is small (DECODE_LIMIT); else only the first field. */
  body: Document;
  /** Bytes of the request on the wire, and of its answer once it came (0 before, or when none did). */
  requestBytes: number;
  replyBytes: number;
  /** When the proxy read the request, and when the answer came back (null before), in `performance.now()` ms. */
  sentAt: number;
  answeredAt: number | null;
}

/**
 * What happens to a matching command:
 * - `fail-before`: it never reaches the database; the client gets a server error (`code`);
 * - `fail-after`: the database runs it, the client gets a server error instead of its answer;
 * - `cut-after`: the database runs it, then the connection breaks before the answer arrives;
 * - `stall`: held `ms` before it goes on (dropped if the client gave up and closed meanwhile).
 */
export type FaultAction =
  | { kind: 'fail-before' | 'fail-after'; code?: number; codeName?: string; message?: string }
  | { kind: 'cut-after' }
  | { kind: 'stall'; ms: number };

export interface FaultRule {
  match: (command: WireCommand) => boolean;
  action: FaultAction;
  /** How many matching commands it hits (1 unless said). */
  times?: number;
}

interface ArmedRule extends FaultRule {
  left: number;
  fired: (command: WireCommand) => void;
}

/** A server error as the driver would receive it: MaxTimeMSExpired unless said otherwise. */
function errorReply(responseTo: number, action: { code?: number; codeName?: string; message?: string }): Buffer {
  const body = Buffer.from(
    BSON.serialize({
      ok: 0,
      errmsg: action.message ?? 'operation exceeded time limit (injected by the test)',
      code: action.code ?? 50,
      codeName: action.codeName ?? 'MaxTimeMSExpired',
    }),
  );
  const reply = Buffer.alloc(HEADER_BYTES + 5 + body.length);
  reply.writeInt32LE(reply.length, 0);
  reply.writeInt32LE(Math.floor(Math.random() * 2 ** 30), 4);
  reply.writeInt32LE(responseTo, 8);
  reply.writeInt32LE(OP_MSG, 12);
  reply.writeUInt32LE(0, 16); // flag bits
  reply.writeUInt8(0, 20); // section kind 0: the body
  body.copy(reply, 21);
  return reply;
}

/** The command in an OP_MSG (its kind-0 section), or null for anything else. */
function commandOf(message: Buffer): WireCommand | null {
  if (message.readInt32LE(12) !== OP_MSG || message.readUInt8(20) !== 0) return null;
  const start = 21;
  const size = message.readInt32LE(start);
  const bson = message.subarray(start, start + size);
  if (size <= DECODE_LIMIT) {
    const body = BSON.deserialize(bson, { promoteBuffers: true });
    const [name] = Object.keys(body);
    const at = { sentAt: performance.now(), answeredAt: null };
    return { name, collection: body[name], body, requestBytes: message.length, replyBytes: 0, ...at };
  }
  // the first element only: type byte, name (a C string), then a string value
  const type = bson.readUInt8(4);
  const nameEnd = bson.indexOf(0, 5);
  const name = bson.toString('utf8', 5, nameEnd);
  let collection: unknown = undefined;
  if (type === 0x02) {
    const length = bson.readInt32LE(nameEnd + 1);
    collection = bson.toString('utf8', nameEnd + 5, nameEnd + 4 + length);
  }
  const at = { sentAt: performance.now(), answeredAt: null };
  return { name, collection, body: { [name]: collection }, requestBytes: message.length, replyBytes: 0, ...at };
}

/** Splits a byte stream into wire messages (each starts with its own int32 length). */
class MessageFramer {
  private pending: Buffer = Buffer.alloc(0);

  push(data: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const messages: Buffer[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readInt32LE(0);
      if (this.pending.length < length) break;
      messages.push(this.pending.subarray(0, length));
      this.pending = this.pending.subarray(length);
    }
    return messages;
  }
}

/**
 * A TCP proxy that speaks enough of the MongoDB wire protocol to see each command a server sends to
 * its database, count it, and fail, stall or cut it on the test's word: faults at an exact step of a
 * sequence of writes, against the real database and the built server, with no hook in the service.
 */
export class DatabaseProxy {
  /** Every command that went through, in order (the test clears it when it starts to count). */
  readonly commands: WireCommand[] = [];
  /** Bytes the database sent back (answers), since the last clear. */
  bytesFromDatabase = 0;
  private server!: Server;
  private port = 0;
  private readonly rules: ArmedRule[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly target: URL) {}

  static async start(targetUri: string): Promise<DatabaseProxy> {
    const proxy = new DatabaseProxy(new URL(targetUri));
    proxy.server = createServer((client) => proxy.pipe(client));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  /** The target's URI (same database, same options) through the proxy. */
  get uri(): string {
    const url = new URL(this.target.toString());
    url.host = `127.0.0.1:${this.port}`;
    return url.toString();
  }

  /** Arms a fault; resolves with the command it hit, once it has (for the last of `times`). */
  inject(rule: FaultRule): Promise<WireCommand> {
    return new Promise((resolve) => {
      this.rules.push({ ...rule, left: rule.times ?? 1, fired: resolve });
    });
  }

  /** Drops the faults not yet fired, and the count of commands and bytes. */
  clear(): void {
    this.rules.length = 0;
    this.commands.length = 0;
    this.bytesFromDatabase = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take(command: WireCommand): FaultAction | null {
    const rule = this.rules.find((r) => r.left > 0 && r.match(command));
    if (!rule) return null;
    rule.left--;
    if (rule.left === 0) {
      this.rules.splice(this.rules.indexOf(rule), 1);
      rule.fired(command);
    }
    return rule.action;
  }

  private pipe(client: Socket): void {
    const upstream = connect(Number(this.target.port || 27017), this.target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    /** Requests whose answer is to be replaced (fail-after) or never delivered (cut-after). */
    const afterwards = new Map<number, FaultAction>();
    /** Requests waiting for their answer, to count its bytes. */
    const waiting = new Map<number, WireCommand>();
    // requests go on in order: a stalled one holds the ones behind it, as a slow link would
    let queue = Promise.resolve();
    const fromClient = new MessageFramer();
    client.on('data', (data: Buffer) => {
      for (const message of fromClient.push(data)) {
        const command = commandOf(message);
        if (command) this.commands.push(command);
        const action = command ? this.take(command) : null;
        const requestId = message.readInt32LE(4);
        if (command) waiting.set(requestId, command);
        queue = queue.then(async () => {
          if (action?.kind === 'stall') await new Promise((r) => setTimeout(r, action.ms));
          if (client.destroyed) return; // the client gave up: the request never reaches the database
          if (action?.kind === 'fail-before') {
            client.write(errorReply(requestId, action));
            return;
          }
          if (action?.kind === 'fail-after' || action?.kind === 'cut-after') afterwards.set(requestId, action);
          upstream.write(message);
        });
      }
    });
    const fromDatabase = new MessageFramer();
    upstream.on('data', (data: Buffer) => {
      for (const message of fromDatabase.push(data)) {
        this.bytesFromDatabase += message.length;
        const responseTo = message.readInt32LE(8);
        const command = waiting.get(responseTo);
        if (command) {
          command.replyBytes = message.length;
          command.answeredAt = performance.now();
        }
        waiting.delete(responseTo);
        const action = afterwards.get(responseTo);
        afterwards.delete(responseTo);
        if (action?.kind === 'cut-after') {
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(action?.kind === 'fail-after' ? errorReply(responseTo, action) : message);
      }
    });
  }
}
