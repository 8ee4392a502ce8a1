import ipaddr from "ipaddr.js";

/**
 * Which addresses WebFetch may reach. A model steered by a page (or a task) could otherwise
 * make the host read its own services, the LAN or a cloud metadata endpoint, so everything but
 * public unicast is refused unless the project allow-lists it by host name, address or CIDR.
 */

/** ipaddr.js range names that are not the public internet. */
const REFUSED_RANGES = new Set([
  "unspecified",
  "broadcast",
  "multicast",
  "linkLocal",
  "loopback",
  "carrierGradeNat",
  "private",
  "reserved",
  "uniqueLocal",
  "ipv4Mapped",
  "rfc6145",
  "rfc6052",
  "6to4",
  "teredo",
  "benchmarking",
  "amt",
  "as112",
  "as112v6",
  "deprecated",
  "orchid2",
  "droneRemoteIdProtocolEntityTags",
]);

export interface AllowList {
  hosts: Set<string>;
  ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

/** Parses `web.fetch.allow`: CIDR ranges and literal addresses become ranges, the rest host names. */
export function allowList(entries: readonly string[]): AllowList {
  const list: AllowList = { hosts: new Set(), ranges: [] };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase().replace(/^\[|\]$/g, "");
    if (entry.includes("/") && isCidr(entry)) list.ranges.push(ipaddr.parseCIDR(entry));
    else if (ipaddr.isValid(entry)) {
      const addr = ipaddr.parse(entry);
      list.ranges.push([addr, addr.kind() === "ipv4" ? 32 : 128]);
    } else list.hosts.add(entry.replace(/\.$/, ""));
  }
  return list;
}

function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

export function hostAllowed(list: AllowList, host: string): boolean {
  return list.hosts.has(host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, ""));
}

/**
 * Why an address may not be reached, or undefined when it may. IPv4-mapped IPv6 addresses
 * (::ffff:127.0.0.1) are judged as the IPv4 address they carry.
 */
export function refusedAddress(list: AllowList, address: string): string | undefined {
  if (addressListed(list, address)) return undefined;
  const range = unmapped(address).range();
  if (!REFUSED_RANGES.has(range)) return undefined;
  return `${address} is a ${describe(range)} address`;
}

/** True when the address lies in a range of the allow list. */
export function addressListed(list: AllowList, address: string): boolean {
  const addr = unmapped(address);
  return list.ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
}

function unmapped(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const addr = ipaddr.parse(address);
  return addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
}

function describe(range: string): string {
  if (range === "linkLocal") return "link-local (cloud metadata services live here)";
  if (range === "uniqueLocal") return "private (unique local)";
  if (range === "carrierGradeNat") return "carrier-grade NAT";
  return range;
}
