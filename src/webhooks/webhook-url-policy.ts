import { BadRequestException, Inject, Injectable, Logger } from '@nestjs/common';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { webhookSettings, type WebhookSettings } from '../config/settings.js';

/**
 * Addresses a webhook must never reach unless WEBHOOK_ALLOW_PRIVATE=true: this host, private
 * networks, link-local (cloud metadata lives at 169.254.169.254 and fd00:ec2::254), and the
 * special ranges a server has no business posting to.
 */
function blockedRanges(): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of [
    ['0.0.0.0', 8], // "this network"
    ['10.0.0.0', 8],
    ['100.64.0.0', 10], // carrier-grade NAT
    ['127.0.0.0', 8],
    ['169.254.0.0', 16], // link-local, metadata services
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15], // benchmarking
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, broadcast
  ] as const) {
    list.addSubnet(network, prefix, 'ipv4');
  }
  for (const [network, prefix] of [
    ['::', 128], // unspecified
    ['::1', 128],
    ['fc00::', 7], // unique local (incl. fd00:ec2::254)
    ['fe80::', 10], // link-local
    ['ff00::', 8], // multicast
    ['64:ff9b::', 96], // NAT64 can reach any IPv4 address
    ['2002::', 16], // 6to4 likewise
  ] as const) {
    list.addSubnet(network, prefix, 'ipv6');
  }
  return list;
}

const BLOCKED = blockedRanges();

/** True when `address` is loopback, private, link-local, metadata or otherwise not public. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1], 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

/** URL.hostname keeps the brackets of an IPv6 literal ("[::1]"); DNS and isIP want them off. */
function unbracketed(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

export class WebhookAddressRefused extends Error {
  override name = 'WebhookAddressRefused';
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Rules for webhook URLs: checked when a session is created, and again at every delivery. */
@Injectable()
export class WebhookUrlPolicy {
  private readonly logger = new Logger(WebhookUrlPolicy.name);
  private readonly allowHttp: boolean;
  private readonly allowPrivate: boolean;
  readonly enabled: boolean;

  constructor(@Inject(webhookSettings.KEY) settings: WebhookSettings) {
    this.allowHttp = settings.allowHttp;
    this.allowPrivate = settings.allowPrivate;
    this.enabled = Boolean(settings.secret);
  }

  /** For session creation: a 400 with a sentence the frontend developer can act on. */
  async assertAcceptable(raw: string): Promise<string> {
    if (!this.enabled) {
      throw new BadRequestException('webhook_url cannot be used: this server has no WEBHOOK_SECRET configured.');
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new BadRequestException('webhook_url must be an absolute URL, e.g. https://example.com/hooks/interviews.');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowHttp)) {
      throw new BadRequestException(
        this.allowHttp ? 'webhook_url must use https or http.' : 'webhook_url must use https.',
      );
    }
    if (url.username || url.password) {
      throw new BadRequestException('webhook_url must not carry a user name or password; put secrets elsewhere.');
    }
    try {
      await this.resolvePublic(url.hostname);
    } catch (error) {
      // The sentence never names what a host name resolved to, and is the same whether it did not
      // resolve or resolved to a private address: a user must not be able to map internal DNS.
      this.logger.log(`refused webhook_url host ${url.hostname}: ${(error as Error).message}`);
      const host = unbracketed(url.hostname);
      throw new BadRequestException(
        isIP(host)
          ? `webhook_url must point to a public address; ${host} is not one.`
          : `webhook_url's host "${host}" does not resolve to a public address.`,
      );
    }
    return url.toString();
  }

  /**
   * A dns.lookup for http(s).request that refuses non-public addresses at connection time, so a
   * host that resolved to a public address when checked cannot be re-pointed at an internal one
   * (DNS rebinding): the address checked is the address connected to.
   */
  readonly lookup = (hostname: string, options: object, callback: LookupCallback): void => {
    this.resolvePublic(hostname).then(
      (addresses) => {
        if ((options as { all?: boolean }).all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };

  /**
   * For delivery: Node connects to an IP-literal host without calling `lookup`, so those are
   * checked here; host names are checked by `lookup` itself, at connection time.
   */
  async assertDeliverable(hostname: string): Promise<void> {
    if (isIP(unbracketed(hostname))) await this.resolvePublic(hostname);
  }

  private async resolvePublic(hostname: string): Promise<LookupAddress[]> {
    const host = unbracketed(hostname);
    const family = isIP(host);
    const addresses: LookupAddress[] = family
      ? [{ address: host, family }]
      : await new Promise((resolve, reject) =>
          dnsLookup(host, { all: true, verbatim: true }, (error, found) => (error ? reject(error) : resolve(found))),
        );
    if (addresses.length === 0) throw new Error(`no address for ${host}`);
    if (!this.allowPrivate) {
      const refused = addresses.find((a) => isNonPublicAddress(a.address));
      if (refused) throw new WebhookAddressRefused(`${host} resolves to ${refused.address}, which is not public`);
    }
    return addresses;
  }
}
