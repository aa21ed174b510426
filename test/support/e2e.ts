import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { ApiClient, tokenFor } from './api.js';
import { AppProcess } from './app-process.js';
import { CountingProxy } from './counting-proxy.js';
import { TestDatabase } from './database.js';
import { FakeOpenAI, type FakeOpenAIOptions } from './fake-openai.js';
import { WebhookReceiver } from './webhook-receiver.js';

type Env = Record<string, string>;
/** Settings, or a function that gives them when they depend on something started first (a JWKS server). */
type Settings = Env | (() => Env);

export interface E2eOptions {
  /**
   * 'file' (the default): one database, provider and main server for all the tests of the file, or
   * of the describe block the fixture is used in. 'test': a fresh database for every test and no
   * main server: each test starts its servers with startApp, and they are killed after it.
   */
  scope?: 'file' | 'test';
  /** false: no database (the tests bring their own, e.g. one they can stop). */
  database?: boolean;
  /** The fake OpenAI server's options; a FakeOpenAI started elsewhere, to share; false: none (no OPENAI_BASE_URL). */
  provider?: FakeOpenAIOptions | FakeOpenAI | false;
  /** Forget the fake's requests and scripts before each test: the default for a fake of this fixture's own. */
  resetProvider?: boolean;
  /** Settings of every server the fixture starts: the main one and those of startApp. */
  env?: Settings;
  /** The main server (scope 'file'): its own settings on top of env, its API key (null: none), how it is stopped; false: none. */
  server?: false | { env?: Settings; apiKey?: string | null; stopWith?: NodeJS.Signals };
  /** A counting proxy in front of the main server (how much a browser sent). */
  proxy?: boolean;
  /** A webhook receiver that verifies deliveries with this secret, fresh for the scope. */
  webhooks?: { secret: string };
}

export interface StartAppOptions {
  /** Another database than the fixture's. */
  database?: { uri: string };
  /** null: no OPENAI_API_KEY. */
  apiKey?: string | null;
  /** Another provider than the fixture's fake; null: none. */
  openaiUrl?: string | null;
}

/**
 * The database, fake provider, server and clients of an e2e test file: `useE2eApp` registers the
 * hooks that start them before the tests and stop them after, and returns their handles at once.
 * The handles are usable from the first hook or test on: `db` is the running test's database in
 * scope 'test'. Without a part (no main server, no provider), reading its handle throws.
 */
export class E2e {
  private readonly database?: TestDatabase;
  private readonly provider?: FakeOpenAI;
  private readonly mainServer?: AppProcess;
  private readonly countingProxy?: CountingProxy;
  private readonly webhookReceiver?: WebhookReceiver;
  private readonly started: AppProcess[] = [];
  private readonly extraDatabases: TestDatabase[] = [];

  constructor(
    readonly label: string,
    private readonly options: E2eOptions = {},
  ) {
    const { scope = 'file', database = true, provider = {}, server = {}, proxy, webhooks } = options;
    if (database) this.database = new TestDatabase(label);
    if (provider) this.provider = provider instanceof FakeOpenAI ? provider : new FakeOpenAI(provider);
    if (scope === 'file' && server) this.mainServer = new AppProcess();
    if (proxy) this.countingProxy = new CountingProxy();
    if (webhooks) this.webhookReceiver = new WebhookReceiver({ secret: webhooks.secret });
  }

  get db(): TestDatabase {
    return this.part(this.database, 'database');
  }
  get fake(): FakeOpenAI {
    return this.part(this.provider, 'provider');
  }
  get app(): AppProcess {
    return this.part(this.mainServer, 'server');
  }
  get proxy(): CountingProxy {
    return this.part(this.countingProxy, 'proxy');
  }
  get receiver(): WebhookReceiver {
    return this.part(this.webhookReceiver, 'webhooks');
  }

  /** The servers startApp started, oldest first, until the fixture stops them. */
  get apps(): readonly AppProcess[] {
    return this.started;
  }

  /** A client of the main server, signed in as `userId` (anonymous without). */
  clientFor = (userId?: string): ApiClient => new ApiClient(this.app, userId ? tokenFor(userId) : undefined);

  /** Starts another server: the fixture's database, provider and settings unless told otherwise. */
  startApp = async (env: Env = {}, options: StartAppOptions = {}): Promise<AppProcess> => {
    const app = new AppProcess();
    this.started.push(app);
    return app.launch({
      mongodbUri: (options.database ?? this.db).uri,
      openaiUrl: options.openaiUrl === undefined ? this.provider?.url : (options.openaiUrl ?? undefined),
      apiKey: options.apiKey,
      env: { ...settings(this.options.env), ...env },
    });
  };

  /** A database of its own besides the fixture's, dropped with it (after the servers stopped). */
  openDatabase = async (label: string): Promise<TestDatabase> => {
    const database = new TestDatabase(label);
    this.extraDatabases.push(database);
    return database.open();
  };

  /** SIGKILLs every server startApp started that still runs (before a test drops a database of its own). */
  killApps = async (): Promise<void> => {
    await Promise.all(this.started.splice(0).map((app) => app.kill()));
  };

  /** Registers the hooks in the current suite (the file, or a describe block). */
  register(): this {
    const { scope = 'file', server, resetProvider = !(this.options.provider instanceof FakeOpenAI) } = this.options;
    const ownProvider = this.provider && !(this.options.provider instanceof FakeOpenAI);
    beforeAll(async () => {
      if (scope === 'file') await this.database?.open();
      if (ownProvider) await this.provider.listen();
      if (this.mainServer) {
        const main = server || {};
        await this.mainServer.launch({
          mongodbUri: this.db.uri,
          openaiUrl: this.provider?.url,
          apiKey: main.apiKey,
          env: { ...settings(this.options.env), ...settings(main.env) },
        });
        await this.countingProxy?.listen(this.mainServer.url);
      }
      if (scope === 'file') await this.webhookReceiver?.listen();
    });
    beforeEach(async () => {
      if (resetProvider) this.provider?.reset();
      if (scope === 'test') {
        await this.database?.open();
        this.webhookReceiver?.reset();
        await this.webhookReceiver?.listen();
      }
    });
    if (scope === 'test') {
      afterEach(async () => {
        await this.killApps();
        await this.webhookReceiver?.close();
        await this.dropDatabases();
      });
    }
    afterAll(async () => {
      await this.countingProxy?.close();
      await this.mainServer?.stop(server ? server.stopWith : undefined);
      await Promise.all(this.started.splice(0).map((app) => app.stop()));
      await this.webhookReceiver?.close();
      if (ownProvider) await this.provider.close();
      if (scope === 'file') await this.dropDatabases();
    });
    return this;
  }

  private async dropDatabases(): Promise<void> {
    await this.database?.drop();
    for (const database of this.extraDatabases.splice(0)) await database.drop();
  }

  private part<T>(handle: T | undefined, option: keyof E2eOptions): T {
    if (!handle) throw new Error(`the e2e fixture "${this.label}" was made without this part (option ${option})`);
    return handle;
  }
}

function settings(source: Settings | undefined): Env {
  return typeof source === 'function' ? source() : (source ?? {});
}

/**
 * The e2e fixture for the current file or describe block: its database (named after `label`),
 * a fake OpenAI, the built server started against both, and clients of it; see E2eOptions for
 * what a file can ask for beyond that.
 */
export function useE2eApp(label: string, options: E2eOptions = {}): E2e {
  return new E2e(label, options).register();
}
