import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/core/config.js";
import { compileClientAddress } from "../../src/http/client-address.js";

// Behind proxies, only the X-Forwarded-For entries the operator's proxies wrote are believed: the ones
// further left are the client's own words (a different one on every request would dodge every limit).

const trustOf = (value: string | undefined) => loadConfig({ TRUST_PROXY: value }).http.trustProxy;

describe("TRUST_PROXY", () => {
  it("reads off, hop counts (true: one hop) and proxy addresses or CIDRs", () => {
    expect(trustOf(undefined)).toBeNull();
    expect(trustOf("false")).toBeNull();
    expect(trustOf("0")).toBeNull();
    expect(trustOf("true")).toEqual({ hops: 1 });
    expect(trustOf("1")).toEqual({ hops: 1 });
    expect(trustOf("2")).toEqual({ hops: 2 });
    expect(trustOf("10.0.0.0/8, 127.0.0.1,::1,fd00::/8")).toEqual({
      subnets: ["10.0.0.0/8", "127.0.0.1/32", "::1/128", "fd00::/8"],
    });
  });

  it.each(["10.0.0.0/33", "not-an-ip", "10.0.0.0/8/1", "::1/129", "10.0.0.0/x"])("refuses %j", (value) => {
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(ConfigError);
  });
});

describe("the client address", () => {
  const socket = "10.0.0.5";

  it("is the socket's when no proxy is trusted, whatever the header says", () => {
    const address = compileClientAddress(null);
    expect(address("6.6.6.6", socket)).toBe(socket);
  });

  it("is the entry the trusted hops vouch for, never one the client wrote further left", () => {
    const one = compileClientAddress({ hops: 1 });
    expect(one("203.0.113.7", socket)).toBe("203.0.113.7");
    // The client sent "X-Forwarded-For: 6.6.6.6"; the load balancer appended what it saw.
    expect(one("6.6.6.6, 203.0.113.7", socket)).toBe("203.0.113.7");
    expect(one("1.1.1.1,2.2.2.2 , 203.0.113.7", socket)).toBe("203.0.113.7");
    expect(one(null, socket)).toBe(socket);
    expect(one("", socket)).toBe(socket);
    const two = compileClientAddress({ hops: 2 });
    expect(two("6.6.6.6, 203.0.113.7, 10.0.0.9", socket)).toBe("203.0.113.7");
    // Fewer entries than hops: the furthest there is.
    expect(two("203.0.113.7", socket)).toBe("203.0.113.7");
  });

  it("walks back through proxies at the trusted addresses and stops at the first other one", () => {
    const address = compileClientAddress({ subnets: ["10.0.0.0/8", "127.0.0.1/32", "::1/128"] });
    expect(address("6.6.6.6, 203.0.113.7, 10.1.2.3", socket)).toBe("203.0.113.7");
    expect(address("6.6.6.6, 203.0.113.7", "::ffff:127.0.0.1")).toBe("203.0.113.7");
    expect(address("6.6.6.6, 203.0.113.7", "::1")).toBe("203.0.113.7");
    // A request that did not come through a trusted proxy: its header means nothing.
    expect(address("6.6.6.6", "198.51.100.1")).toBe("198.51.100.1");
    // Every hop trusted: the left-most entry is all there is.
    expect(address("10.9.9.9, 10.8.8.8", socket)).toBe("10.9.9.9");
    // Garbage a trusted proxy passed on is not an address we trust through.
    expect(address("6.6.6.6, garbage", socket)).toBe("garbage");
  });
});
