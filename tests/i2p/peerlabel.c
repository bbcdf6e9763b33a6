/*
 * peerlabel.so — LD_PRELOAD shim for the loopback test network only.
 *
 * i2pd 2.45.1 drops every inbound NTCP2 connection whose peer address is in
 * a "reserved" range, 127.0.0.0/8 included ("NTCP2: Incoming connection from
 * invalid IP 127.0.0.1"; fixed upstream in 2.51). On a network made of
 * routers that all live on 127.0.0.1 no router could then accept another.
 *
 * This shim wraps getpeername(): when the socket's local port is the one
 * named in $E2E_PEERLABEL_PORT (the router's own NTCP2 listening port) and
 * the peer is 127.a.b.c port P, it reports the peer as 100.(c % 64).(P >> 8).
 * (P & 255) instead. That is a label only: i2pd uses the address as a map key
 * and in log lines; nothing is ever sent to it. The label carries the peer's
 * source port because i2pd keeps one pending inbound handshake per peer
 * *address* and drops a second one that arrives meanwhile ("already
 * pending"): with a plain 127 -> 100 rewrite, two routers on 127.0.0.1
 * dialling the same floodfill at once lose one connection (measured: the
 * lease set of that router then never got published). The second octet stays
 * below 64, out of 100.64.0.0/10, which i2pd also refuses.
 *
 * Every other socket (SAM clients, the HTTP server tunnel's connections to
 * the local web server) is reported unchanged. Without $E2E_PEERLABEL_PORT
 * every socket is reported unchanged.
 *
 * Built by tests/i2pnet.sh with `cc -shared -fPIC` into the network's
 * directory; never installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*getpeername_fn)(int, struct sockaddr *, socklen_t *);

static int local_port_matches(int fd)
{
	const char *want = getenv("E2E_PEERLABEL_PORT");
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	unsigned long port;
	char *end;

	if (!want || !*want)
		return 0;
	port = strtoul(want, &end, 10);
	if (*end || port == 0 || port > 65535)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port) == port;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port;
	return 0;
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	static getpeername_fn real;
	int r;

	if (!real) {
		real = (getpeername_fn)dlsym(RTLD_NEXT, "getpeername");
		if (!real)
			return -1;
	}
	r = real(fd, addr, addrlen);
	if (r != 0 || !addr || !addrlen || !local_port_matches(fd))
		return r;

	if (addr->sa_family == AF_INET &&
	    *addrlen >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)addr;
		unsigned char *ip = (unsigned char *)&sin->sin_addr;
		unsigned port = ntohs(sin->sin_port);
		if (ip[0] == 127) {
			ip[0] = 100;
			ip[1] = ip[3] % 64;
			ip[2] = port >> 8;
			ip[3] = port & 255;
		}
	} else if (addr->sa_family == AF_INET6 &&
		   *addrlen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		/* IPv4-mapped ::ffff:127.a.b.c */
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;
		unsigned char *ip = sin6->sin6_addr.s6_addr;
		unsigned port = ntohs(sin6->sin6_port);
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(ip, mapped, 12) == 0 && ip[12] == 127) {
			ip[12] = 100;
			ip[13] = ip[15] % 64;
			ip[14] = port >> 8;
			ip[15] = port & 255;
		}
	}
	return r;
}
