/*
 * kcconsole NCORES [ROUND_TRIPS=200] [STREAM=400]: the Linux peer of our
 * console kernel core, in the same shape (issue 12, item 4): a console
 * server thread pinned to the last CPU, and N = 1 .. NCORES-1 client
 * threads pinned to CPUs 0 .. N-1, the same vCPU count as ours (4: three
 * client cores and the server's). Each request is what our console
 * clients send: a line (`[kcbench@I] kcb I rt K`), which the server writes
 * to the console (stdout: /dev/console, the PL011) and then answers.
 *
 * For each N, every client does ROUND_TRIPS requests one at a time (send,
 * wait for the answer), then STREAM lines without waiting (the pipe's
 * buffer is the credit, as the ring's slots are ours), and waits for the
 * server's last answer. Each part's span is the union of the clients'
 * spans (the earliest start to the latest end), as the host takes it for
 * ours. Prints, per N:
 *   RESULT name=kcconsole mode=rtt-N cores=NCORES ops=N*ROUND_TRIPS ns=...
 *   RESULT name=kcconsole mode=stream-N cores=NCORES ops=N*STREAM ns=...
 */
#include "common.h"

#define MAX_CLIENTS 8
#define LINE 48

struct msg {
	int client;
	int len;
	int answer; /* 1: answer this line; 0: a streamed line, not the last */
	char text[LINE];
};

static long round_trips, stream;
static int nclients, server_cpu;
static int req[2];
static int rep[MAX_CLIENTS][2];
static struct gate gate;
static uint64_t t0[2][MAX_CLIENTS], t1[2][MAX_CLIENTS];

static void write_full(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len) {
		ssize_t w = write(fd, c, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		c += w;
		len -= (size_t)w;
	}
}

static void *server(void *p)
{
	(void)p;
	pin(server_cpu);
	uint64_t left = (uint64_t)nclients * (uint64_t)(round_trips + stream);
	struct msg m;
	while (left--) {
		/* A struct msg is below PIPE_BUF: each write and read is whole. */
		read_full(req[0], &m, sizeof m);
		if (m.client < 0 || m.client >= nclients || m.len <= 0 || m.len > LINE)
			die("server: bad message");
		write_full(1, m.text, (size_t)m.len);
		if (m.answer) {
			uint32_t ok = 1;
			write_full(rep[m.client][1], &ok, sizeof ok);
		}
	}
	return NULL;
}

/* Appends `s` to `out` at `*len`, as much as fits below LINE. */
static void push(char *out, int *len, const char *s)
{
	while (*s && *len < LINE - 1)
		out[(*len)++] = *s++;
}

/* Powers of ten an unsigned long holds (aarch64: 64 bits): 10^0 to 10^19. */
static const unsigned long powers_of_ten[20] = {
	1UL, 10UL, 100UL, 1000UL, 10000UL, 100000UL, 1000000UL, 10000000UL,
	100000000UL, 1000000000UL, 10000000000UL, 100000000000UL,
	1000000000000UL, 10000000000000UL, 100000000000000UL,
	1000000000000000UL, 10000000000000000UL, 100000000000000000UL,
	1000000000000000000UL, 10000000000000000000UL,
};

/* The two digits of 0 to 99, "00" to "99". */
static const char pairs[] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/*
 * Decimal digits of `v` (1 for 0), counted against the table of powers
 * of ten (no division), as ours counts them (bench/tasks/kcbench,
 * `digits`).
 */
static int decimal_digits(unsigned long v)
{
	int n = 1;
	while (n < 20 && v >= powers_of_ten[n])
		n++;
	return n;
}

/*
 * Appends `v` in decimal: digits counted, then written last to first, two
 * at a time from the table of pairs, as ours writes them (`decimal`).
 */
static void push_decimal(char *out, int *len, unsigned long v)
{
	int digits = decimal_digits(v);
	int end = *len + digits < LINE - 1 ? *len + digits : LINE - 1;
	int j = end;
	for (int k = *len + digits; k > end; k--)
		v /= 10;
	while (j - *len >= 2) {
		unsigned d = (unsigned)(v % 100);
		v /= 100;
		out[j - 2] = pairs[2 * d];
		out[j - 1] = pairs[2 * d + 1];
		j -= 2;
	}
	if (j - *len == 1)
		out[j - 1] = (char)('0' + v % 10);
	*len = end;
}

/*
 * The request's line, `[kcbench@I] kcb I PART K\n`, formatted by hand as
 * our client formats its own (bench/tasks/kcbench, `BenchLine`; no printf
 * there, none here), so that both windows hold the same formatting work.
 */
static int bench_line(char *out, int i, const char *part, long k)
{
	int len = 0;
	push(out, &len, "[kcbench@");
	push_decimal(out, &len, (unsigned long)i);
	push(out, &len, "] kcb ");
	push_decimal(out, &len, (unsigned long)i);
	push(out, &len, " ");
	push(out, &len, part);
	push(out, &len, " ");
	push_decimal(out, &len, (unsigned long)k);
	push(out, &len, "\n");
	return len;
}

static void send_line(int i, const char *part, long k, int answer)
{
	struct msg m = { .client = i, .answer = answer };
	m.len = bench_line(m.text, i, part, k);
	if (m.len <= 0 || m.len >= LINE)
		die("format");
	write_full(req[1], &m, sizeof m);
}

static void wait_answer(int i)
{
	uint32_t ok;
	read_full(rep[i][0], &ok, sizeof ok);
	if (ok != 1) {
		fprintf(stdout, "FAIL kcconsole: client %d got %u\n", i, ok);
		exit(1);
	}
}

static void client(int i, void *ctx)
{
	(void)ctx;
	pin(i);
	gate_wait(&gate);
	t0[0][i] = now_ns();
	for (long k = 0; k < round_trips; k++) {
		send_line(i, "rt", k, 1);
		wait_answer(i);
	}
	t1[0][i] = now_ns();
	t0[1][i] = now_ns();
	for (long k = 0; k < stream; k++)
		send_line(i, "st", k, k + 1 == stream);
	wait_answer(i);
	t1[1][i] = now_ns();
}

/* The union of the clients' spans of `part`. */
static uint64_t span(int part)
{
	uint64_t lo = t0[part][0], hi = t1[part][0];
	for (int i = 1; i < nclients; i++) {
		if (t0[part][i] < lo)
			lo = t0[part][i];
		if (t1[part][i] > hi)
			hi = t1[part][i];
	}
	return hi - lo;
}

int main(int argc, char **argv)
{
	int cores = workers_arg(argc, argv);
	round_trips = arg_or(argc, argv, 2, 200);
	stream = arg_or(argc, argv, 3, 400);
	if (cores < 2 || cores - 1 > MAX_CLIENTS) {
		fprintf(stdout, "FAIL kcconsole needs 2 to %d cores, not %d\n", MAX_CLIENTS + 1, cores);
		return 2;
	}
	server_cpu = cores - 1;
	for (nclients = 1; nclients < cores; nclients++) {
		pthread_t t[MAX_CLIENTS], srv;
		struct thread_arg a[MAX_CLIENTS];
		char extra[64];
		if (pipe(req) != 0)
			die("pipe");
		for (int i = 0; i < nclients; i++)
			if (pipe(rep[i]) != 0)
				die("pipe");
		gate_init(&gate);
		errno = pthread_create(&srv, NULL, server, NULL);
		if (errno)
			die("pthread_create");
		run_threads(nclients, client, NULL, t, a);
		gate_open(&gate);
		join_threads(nclients, t);
		pthread_join(srv, NULL);
		gate_done(&gate);
		close(req[0]);
		close(req[1]);
		for (int i = 0; i < nclients; i++) {
			close(rep[i][0]);
			close(rep[i][1]);
		}
		fflush(stdout);
		char variant[32];
		snprintf(extra, sizeof extra, "clients=%d", nclients);
		snprintf(variant, sizeof variant, "rtt-%d", nclients);
		result("kcconsole", variant, cores, (uint64_t)nclients * (uint64_t)round_trips, span(0), extra);
		snprintf(variant, sizeof variant, "stream-%d", nclients);
		result("kcconsole", variant, cores, (uint64_t)nclients * (uint64_t)stream, span(1), extra);
		fflush(stdout);
	}
	return 0;
}
