import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';

interface Range {
  reason: string;
  blocks: net.BlockList;
}

function range(reason: string, v4: string[], v6: string[]): Range {
  const blocks = new net.BlockList();
  for (const c of v4) {
    const [a, p] = c.split('/');
    blocks.addSubnet(a ?? '', Number(p), 'ipv4');
  }
  for (const c of v6) {
    const [a, p] = c.split('/');
    blocks.addSubnet(a ?? '', Number(p), 'ipv6');
  }
  return { reason, blocks };
}

const METADATA = 'a cloud metadata address';

// Checked in this order, so the most telling reason is reported (metadata before link-local).
const RANGES: Range[] = [
  range(METADATA, ['169.254.169.254/32', '100.100.100.200/32'], ['fd00:ec2::254/128']),
  range('a loopback address', ['127.0.0.0/8'], ['::1/128']),
  range('an unspecified address', ['0.0.0.0/8'], ['::/128']),
  range('a private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ['fc00::/7']),
  range('a link-local address', ['169.254.0.0/16'], ['fe80::/10']),
  range('a shared (carrier-grade NAT) address', ['100.64.0.0/10'], []),
  range('a reserved or special-purpose address', ['192.0.0.0/24', '192.0.2.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4', '255.255.255.255/32'], ['64:ff9b::/96', '100::/64', '2001:db8::/32']),
  range('a multicast address', ['224.0.0.0/4'], ['ff00::/8']),
];

/** An IPv4 address carried inside IPv6 (`::ffff:10.0.0.1`, `::10.0.0.1`), else undefined. */
function embeddedV4(ip: string): string | undefined {
  const m = /^::(?:ffff(?::0{1,4})?:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (m !== null) return m[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (hex === null) return undefined;
  const hi = parseInt(hex[1] ?? '0', 16);
  const lo = parseInt(hex[2] ?? '0', 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why a tool must not connect to `ip`, or undefined when it is a public address. */
export function forbiddenReason(ip: string): string | undefined {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(bare);
  if (family === 0) return 'not an IP address';
  const v4 = family === 6 ? embeddedV4(bare) : bare;
  for (const r of RANGES) {
    if (v4 !== undefined ? r.blocks.check(v4, 'ipv4') : r.blocks.check(bare, 'ipv6')) return r.reason;
  }
  return undefined;
}

export type GuardDecision =
  | { allowed: true; host: string; address: string; family: 4 | 6; addresses: Array<{ address: string; family: 4 | 6 }> }
  | { allowed: false; host: string; address?: string; reason: string };

/**
 * The SSRF guard of http tools. `decide` resolves the host once and refuses loopback, private,
 * link-local, metadata and other special addresses (every address the name resolves to must be
 * public); the caller then connects to the address that was checked, so a DNS answer that changes
 * between check and connect (rebinding) cannot redirect it. `allowPrivateNetwork` (development,
 * tests) opens loopback, private and link-local addresses; cloud metadata endpoints stay refused,
 * since no tool needs the instance's credentials.
 */
export class NetworkGuard {
  readonly allowPrivateNetwork: boolean;

  constructor(opts: { allowPrivateNetwork: boolean }) {
    this.allowPrivateNetwork = opts.allowPrivateNetwork;
  }

  async decide(url: URL): Promise<GuardDecision> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let candidates: Array<{ address: string; family: number }>;
    if (net.isIP(host) !== 0) candidates = [{ address: host, family: net.isIP(host) }];
    else {
      try {
        candidates = await dnsLookup(host, { all: true, verbatim: true });
      } catch (err) {
        return { allowed: false, host, reason: `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
      }
    }
    const first = candidates[0];
    if (first === undefined) return { allowed: false, host, reason: `${host} has no address` };
    for (const c of candidates) {
      const why = forbiddenReason(c.address);
      if (why === undefined || (this.allowPrivateNetwork && why !== METADATA)) continue;
      const hint = why === METADATA ? 'never allowed' : 'pass --allow-private-network to allow it';
      return { allowed: false, host, address: c.address, reason: `${host} is ${why} (${c.address}); ${hint}` };
    }
    const addresses = candidates.map((c) => ({ address: c.address, family: c.family === 6 ? (6 as const) : (4 as const) }));
    return { allowed: true, host, address: first.address, family: first.family === 6 ? 6 : 4, addresses };
  }
}
