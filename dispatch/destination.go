package dispatch

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// DestinationError is the error of a connection refused because the address a
// hook's URL resolved to is not a public one.
type DestinationError struct {
	Addr netip.Addr
	// Class says what kind of address it is, e.g. "loopback".
	Class string
}

// Error says which address was refused and why.
func (e *DestinationError) Error() string {
	return fmt.Sprintf("destination address %s is not allowed: %s", e.Addr, e.Class)
}

// refusedRanges are the address ranges deliveries may not reach unless private
// destinations are allowed: everything that is not public unicast. IPv4-mapped
// IPv6 addresses are checked as IPv4; NAT64 and 6to4 addresses as the IPv4
// address they embed. More specific ranges come first.
var refusedRanges = []struct {
	prefix netip.Prefix
	class  string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified (this network)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (carrier-grade NAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.169.254/32"), "link-local (cloud metadata service)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved (IETF protocol assignments)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "reserved (6to4 relay anycast)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved (benchmarking)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (including broadcast)"},

	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "reserved (IPv4-compatible)"},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "reserved (IPv4-translated)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "private (local-use NAT64)"},
	{netip.MustParsePrefix("100::/64"), "reserved (discard-only)"},
	{netip.MustParsePrefix("2001::/32"), "reserved (Teredo)"},
	{netip.MustParsePrefix("2001:10::/28"), "reserved (ORCHID)"},
	{netip.MustParsePrefix("2001:20::/28"), "reserved (ORCHIDv2)"},
	{netip.MustParsePrefix("2001:db8::/32"), "reserved (documentation)"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "private (cloud metadata service)"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "reserved (site-local)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// Prefixes of IPv6 addresses that embed an IPv4 address.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// CheckDestination returns a *DestinationError when deliveries may not reach
// addr unless private destinations are allowed: private (RFC 1918, fc00::/7),
// loopback, link-local (the cloud metadata services 169.254.169.254 and
// fd00:ec2::254 among them), unspecified, shared (100.64.0.0/10), multicast,
// documentation and other reserved ranges, in IPv4 or any IPv6 form that
// embeds IPv4 (mapped, NAT64, 6to4). It returns nil for public unicast.
func CheckDestination(addr netip.Addr) error {
	if !addr.IsValid() {
		return &DestinationError{Addr: addr, Class: "invalid"}
	}
	addr = addr.WithZone("").Unmap()
	if class := refusedClass(addr); class != "" {
		return &DestinationError{Addr: addr, Class: class}
	}
	return nil
}

func refusedClass(addr netip.Addr) string {
	if v4, via := embeddedIPv4(addr); via != "" {
		if class := refusedClass(v4); class != "" {
			return fmt.Sprintf("%s address of %s, %s", via, v4, class)
		}
		return ""
	}
	for _, r := range refusedRanges {
		if r.prefix.Contains(addr) {
			return r.class
		}
	}
	return ""
}

// embeddedIPv4 returns the IPv4 address a NAT64 or 6to4 address stands for,
// and which kind it is; via is empty for other addresses.
func embeddedIPv4(addr netip.Addr) (v4 netip.Addr, via string) {
	b := addr.As16()
	switch {
	case !addr.Is6():
	case nat64Prefix.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64"
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4"
	}
	return netip.Addr{}, ""
}

// guardConnect is a net.Dialer Control function: it checks the address being
// connected to, after name resolution, so that no DNS answer gets around it.
func guardConnect(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("destination address %q is not allowed: it does not parse", address)
	}
	return CheckDestination(ap.Addr())
}

// newTransport returns the transport shared by all attempts: no environment
// proxy, the destination guard unless private destinations are allowed, and
// enough idle connections that every worker could keep one to the same host.
func newTransport(cfg Config) *http.Transport {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivateDestinations {
		dialer.Control = guardConnect
	}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           2 * cfg.Workers,
		MaxIdleConnsPerHost:    max(cfg.PerHook, cfg.Workers),
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    cfg.Timeout,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
	}
}
