import { BlockList, isIP } from "node:net";
import type { TrustProxy } from "../core/config.js";

/**
 * The client address of a request that reached us from `socketAddress` carrying `forwardedFor`
 * (`X-Forwarded-For`). Each proxy appends the address it received the request from, so the list is read
 * from the right, starting at the socket: every hop we trust vouches for the entry to its left, and the
 * first address no trusted proxy stands behind is the client's. The entries further left were written by
 * the client itself and are never believed (as Express's `trust proxy`, with a hop count or addresses).
 */
export function compileClientAddress(
  trust: TrustProxy,
): (forwardedFor: string | null, socketAddress: string) => string {
  if (trust === null) return (_forwardedFor, socketAddress) => socketAddress;
  if ("hops" in trust) {
    return (forwardedFor, socketAddress) => {
      const chain = [socketAddress, ...hopsOf(forwardedFor)];
      return chain[Math.min(trust.hops, chain.length - 1)] as string;
    };
  }
  const proxies = new BlockList();
  for (const subnet of trust.subnets) {
    const [address = "", prefix] = subnet.split("/");
    proxies.addSubnet(address, Number(prefix), isIP(address) === 4 ? "ipv4" : "ipv6");
  }
  const trusted = (address: string) => {
    const version = isIP(address);
    return version !== 0 && proxies.check(address, version === 4 ? "ipv4" : "ipv6");
  };
  return (forwardedFor, socketAddress) => {
    let client = socketAddress;
    for (const hop of hopsOf(forwardedFor)) {
      if (!trusted(client)) break;
      client = hop;
    }
    return client;
  };
}

/** The entries of `X-Forwarded-For`, nearest first. */
function hopsOf(forwardedFor: string | null): string[] {
  if (!forwardedFor) return [];
  return forwardedFor
    .split(",")
    .map((hop) => hop.trim())
    .filter(Boolean)
    .reverse();
}
