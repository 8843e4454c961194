/*
 * kernelcore NCORES [REQUESTS=2000]: NCORES client threads (client i pinned
 * to CPU i) each send REQUESTS 4-byte requests to one server thread through
 * a shared request pipe and wait for each reply on a pipe of their own. The
 * server is not pinned: the scheduler places it (with NCORES clients it
 * shares a CPU with one of them). The analogue of system services reached
 * by message rather than by a trap on the caller's own core.
 * ops = round trips in all (NCORES * REQUESTS).
 */
#include "common.h"

static long requests;
static int nclients;
static int req[2];
static int rep[MAX_WORKERS][2];
static struct gate gate;

static void *server(void *p)
{
	(void)p;
	uint64_t left = (uint64_t)nclients * (uint64_t)requests;
	uint32_t msgs[64];
	while (left) {
		/* Writes of 4 bytes to a pipe are atomic, so reads return whole
		 * messages. */
		ssize_t r = read(req[0], msgs, sizeof msgs);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || r % 4)
			die("server read");
		for (ssize_t k = 0; k < r / 4; k++) {
			uint32_t reply = msgs[k] + 1;
			if (write(rep[msgs[k] & 0xff][1], &reply, 4) != 4)
				die("server write");
		}
		left -= (uint64_t)r / 4;
	}
	return NULL;
}

static void client(int i, void *ctx)
{
	(void)ctx;
	pin(i);
	gate_wait(&gate);
	for (long k = 0; k < requests; k++) {
		uint32_t msg = ((uint32_t)k << 8) | (uint32_t)i, reply;
		if (write(req[1], &msg, 4) != 4)
			die("client write");
		read_full(rep[i][0], &reply, 4);
		if (reply != msg + 1) {
			fprintf(stdout, "FAIL kernelcore: client %d got %u for %u\n", i, reply, msg);
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	nclients = workers_arg(argc, argv);
	requests = arg_or(argc, argv, 2, 2000);
	pthread_t t[MAX_WORKERS], srv;
	struct thread_arg a[MAX_WORKERS];
	char extra[64];
	snprintf(extra, sizeof extra, "requests=%ld", requests);
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
	uint64_t t0 = now_ns();
	gate_open(&gate);
	join_threads(nclients, t);
	uint64_t t1 = now_ns();
	pthread_join(srv, NULL);
	result("kernelcore", "pipe", nclients, (uint64_t)nclients * (uint64_t)requests, t1 - t0, extra);
	return 0;
}
