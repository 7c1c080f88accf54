// An address as it stands before `:port` in haproxy.cfg and in URLs: an IPv6
// address in brackets, anything else as it is.

export function bracketed(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}
