/*
 * The Linux peer of servers/apps/udpecho for `cargo xtask bench net`'s UDP
 * rate sweep: one thread pinned to core 0 with one UDP socket bound to
 * port 7 sends every datagram back to where it came from, as ours does
 * (one task on core 0, one socket), until a datagram says `quit`
 * (answered `bye`); then it prints
 *
 *   RESULT name=udpecho mode=socket cores=1 ops=DATAGRAMS ns=0 bytes=BYTES
 *
 *   udpecho CORES [PORT]  (CORES is ignored: the echo is one thread, as ours)
 */
#include "common.h"
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	int port = (int)arg_or(argc, argv, 2, 7);
	pin(0);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		die("socket");
	/* Room for a burst: the host paces, the guest may fall behind. */
	int rcv = 1 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (bind(s, (struct sockaddr *)&a, sizeof a))
		die("bind udp port");
	printf("UDPECHO READY port=%d\n", port);
	fflush(stdout);
	static char buf[65536];
	uint64_t echoed = 0, bytes = 0;
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvfrom");
		}
		if (n == 4 && memcmp(buf, "quit", 4) == 0) {
			sendto(s, "bye", 3, 0, (struct sockaddr *)&from, fl);
			break;
		}
		/* A send the card cannot take now is a datagram lost, as on ours. */
		if (sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) == n)
			echoed++, bytes += (uint64_t)n;
	}
	char extra[48];
	snprintf(extra, sizeof extra, "bytes=%llu", (unsigned long long)bytes);
	result("udpecho", "socket", 1, echoed, 0, extra);
	return 0;
}
