package dispatch

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckDestinationClassifiesAddresses(t *testing.T) {
	tests := []struct {
		name  string
		addr  string
		class string // empty: allowed
	}{
		{name: "public IPv4", addr: "93.184.215.14"},
		{name: "public IPv6", addr: "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		{name: "public IPv4, mapped", addr: "::ffff:93.184.215.14"},
		{name: "public IPv4 over NAT64", addr: "64:ff9b::5db8:d70e"},
		{name: "just outside 172.16/12", addr: "172.32.0.1"},
		{name: "just outside CGNAT", addr: "100.128.0.1"},

		{name: "loopback", addr: "127.0.0.1", class: "loopback"},
		{name: "loopback, whole /8", addr: "127.255.1.2", class: "loopback"},
		{name: "IPv6 loopback", addr: "::1", class: "loopback"},
		{name: "mapped loopback", addr: "::ffff:127.0.0.1", class: "loopback"},
		{name: "unspecified", addr: "0.0.0.0", class: "unspecified (this network)"},
		{name: "IPv6 unspecified", addr: "::", class: "unspecified"},
		{name: "10/8", addr: "10.0.0.1", class: "private"},
		{name: "172.16/12", addr: "172.31.255.255", class: "private"},
		{name: "192.168/16", addr: "192.168.1.1", class: "private"},
		{name: "mapped private", addr: "::ffff:10.0.0.1", class: "private"},
		{name: "unique local", addr: "fd12:3456::1", class: "private (unique local)"},
		{name: "CGNAT", addr: "100.64.0.1", class: "shared address space (carrier-grade NAT)"},
		{name: "link-local", addr: "169.254.1.1", class: "link-local"},
		{name: "cloud metadata", addr: "169.254.169.254",
			class: "link-local (cloud metadata service)"},
		{name: "mapped cloud metadata", addr: "::ffff:169.254.169.254",
			class: "link-local (cloud metadata service)"},
		{name: "AWS IPv6 metadata", addr: "fd00:ec2::254",
			class: "private (cloud metadata service)"},
		{name: "IPv6 link-local", addr: "fe80::1", class: "link-local"},
		{name: "IPv6 link-local with zone", addr: "fe80::1%eth0", class: "link-local"},
		{name: "multicast", addr: "224.0.0.251", class: "multicast"},
		{name: "IPv6 multicast", addr: "ff02::1", class: "multicast"},
		{name: "broadcast", addr: "255.255.255.255", class: "reserved (including broadcast)"},
		{name: "documentation", addr: "192.0.2.10", class: "reserved (documentation)"},
		{name: "benchmarking", addr: "198.18.0.1", class: "reserved (benchmarking)"},
		{name: "IPv4-compatible", addr: "::7f00:1", class: "reserved (IPv4-compatible)"},
		{name: "NAT64 of loopback", addr: "64:ff9b::7f00:1",
			class: "NAT64 address of 127.0.0.1, loopback"},
		{name: "6to4 of private", addr: "2002:a00:1::1",
			class: "6to4 address of 10.0.0.1, private"},
		{name: "Teredo", addr: "2001:0:4136:e378::1", class: "reserved (Teredo)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDestination(netip.MustParseAddr(tt.addr))
			if tt.class == "" {
				assert.NoError(t, err)
				return
			}
			var dest *DestinationError
			require.True(t, errors.As(err, &dest), "%v", err)
			assert.Equal(t, tt.class, dest.Class)
			assert.Contains(t, err.Error(), "is not allowed")
		})
	}
}

func TestCheckDestinationRefusesTheZeroAddr(t *testing.T) {
	assert.EqualError(t, CheckDestination(netip.Addr{}),
		"destination address invalid IP is not allowed: invalid")
}

func TestGuardConnectChecksTheDialledAddress(t *testing.T) {
	tests := []struct {
		name    string
		address string
		err     string
	}{
		{name: "public", address: "93.184.215.14:443"},
		{name: "loopback", address: "127.0.0.1:80",
			err: "destination address 127.0.0.1 is not allowed: loopback"},
		{name: "bracketed IPv6 with zone", address: "[fe80::1%eth0]:80",
			err: "destination address fe80::1 is not allowed: link-local"},
		{name: "unparsable", address: "localhost:80",
			err: `destination address "localhost:80" is not allowed: it does not parse`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := guardConnect("tcp", tt.address, nil)
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tt.err)
		})
	}
}
