/* SPDX-License-Identifier: MIT */
/*
 * main.c - command line of the lorabridge daemon.
 *
 *   lorabridge [-c FILE] [-f] [-v] [--accept-state-loss]
 *   lorabridge [-c FILE] [-v] --check-config | --print-config [--show-secrets]
 *   lorabridge airtime --sf 7 --bw 125 --size 13 [...]
 *   lorabridge decode --codec cayennelpp|js [--script FILE] [--encode] --fport N HEX|JSON
 *   lorabridge passwd [--iterations N]
 *   lorabridge top [--url URL] [--once]
 *   lorabridge --purge DEVEUI [-c FILE] [--accept-state-loss] [--forget-counters]
 *   lorabridge --version
 *
 * Exit codes: 0 success, 1 configuration invalid, 2 usage error,
 * 3 start-up failure (socket, broker set-up, state directory), 4 --purge found
 * nothing stored for the device, 5 the state directory lost committed state
 * (store_gen.h) and --accept-state-loss was not given.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/airtime_cli.h"
#include "daemon/decode_cli.h"
#include "daemon/passwd_cli.h"
#include "daemon/top_cli.h"
#include "daemon/bridge.h"
#include "daemon/payload.h"
#include "daemon/session.h"
#include "config/config.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "lbconfig.h"
#include "base/log.h"
#include "store/store.h"

#define EXIT_CONFIG 1
#define EXIT_USAGE 2
#define EXIT_STARTUP 3
#define EXIT_NOTHING 4   /* --purge: nothing stored for that device */
#define EXIT_STATE_LOST 5 /* the database is older than its generation marker */
#define EXIT_UNUSABLE 6   /* state not writable, corrupt, or of a newer schema */

struct cli {
	const char *config_path;
	bool config_given;              /* -c was on the command line */
	bool version;
	const char *reference;          /* --print-config-reference FORMAT */
	bool foreground;
	bool verbose;
	bool check_config;
	bool print_config;
	bool show_secrets;
	bool accept_state_loss;         /* open a state directory that lost state */
	const char *purge;              /* DevEUI whose stored state to delete */
	bool forget_counters;           /* --purge: the counters of its sessions too */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lorabridge [-c FILE] [-f] [-v] [--accept-state-loss]\n"
		"       lorabridge [-c FILE] [-v] --check-config\n"
		"       lorabridge [-c FILE] [-v] --print-config [--show-secrets]\n"
		"       lorabridge airtime --sf SF [--bw KHZ] --size BYTES [--cr 4/5] [--preamble 8]\n"
		"                          [--no-crc] [--implicit-header] [--fsk]\n"
		"       lorabridge decode --codec cayennelpp|js [--script FILE] [--encode]\n"
		"                         --fport N [--var KEY=VALUE]... HEX|JSON\n"
		"       lorabridge passwd [--iterations N]\n"
		"       lorabridge top [--url URL] [--once]\n"
		"       lorabridge --purge DEVEUI [-c FILE] [--accept-state-loss]\n"
		"                          [--forget-counters]\n"
		"       lorabridge --print-config-reference markdown|man\n"
		"       lorabridge --version\n"
		"\n"
		"  -c, --config FILE    configuration file (default %s)\n"
		"  -f, --foreground     stay in the foreground, log to stderr only\n"
		"  -v, --verbose        debug logging\n"
		"      --check-config   validate the configuration, print every problem, exit\n"
		"      --print-config   print the effective configuration with all defaults, exit\n"
		"      --purge DEVEUI   delete a device's stored state (session, nonces, queue,\n"
		"                       ledgers) from state_dir; the daemon must be stopped; the\n"
		"                       frame counters of its keys are kept\n"
		"      --forget-counters\n"
		"                       with --purge, forget them too: its keys configured again\n"
		"                       start at 0, reusing counters (see README \"Configuration\n"
		"                       and state\")\n"
		"      --accept-state-loss\n"
		"                       use a state directory whose database lost committed\n"
		"                       state (exit status 5 without it): old frames may be\n"
		"                       accepted again; see README \"State directory\"\n"
		"      --print-config-reference markdown|man\n"
		"                       print the documented list of every setting, exit\n"
		"      --version        print the version, exit\n"
		"  airtime ...          print a frame's time on air (lorabridge airtime --help)\n"
		"  decode ...           run a payload codec on a payload, or --encode data, and\n"
		"                       print the result (lorabridge decode --help)\n"
		"  passwd               read a password, print its hash for http.password\n"
		"  top ...              gateways and devices of a running bridge, live, from\n"
		"                       its web server (lorabridge top --help)\n"
		"\n"
		"exit status: 0 ok, 1 configuration invalid, 2 usage error, 3 start-up or runtime\n"
		"failure, 4 --purge found nothing, 5 state lost (see --accept-state-loss)\n",
		CONFIG_DEFAULT_PATH);
}

/* Every setting with type, default and help, from the config schema table:
 * the README table and lorabridge.conf(5) are made from it. */
static int print_reference(const char *format)
{
	if (strcmp(format, "markdown") == 0)
		config_schema_print_reference(stdout, CONFIG_REF_MARKDOWN);
	else if (strcmp(format, "man") == 0)
		config_schema_print_reference(stdout, CONFIG_REF_MAN);
	else {
		fprintf(stderr, "lorabridge: --print-config-reference takes markdown or man\n");
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * Options that do not go together, or that do nothing where they are given:
 * refused rather than ignored (--show-secrets alone would start the
 * daemon). One action at most: --version, --print-config-reference,
 * --check-config, --print-config, --purge, or else running the daemon.
 */
static const char *options_conflict(const struct cli *c)
{
	int actions = c->version + (c->reference != NULL) + c->check_config + c->print_config +
		      (c->purge != NULL);

	if (actions > 1)
		return "--version, --print-config-reference, --check-config, --print-config and "
		       "--purge each exclude the others";
	if ((c->version || c->reference) && (c->config_given || c->foreground || c->verbose ||
					     c->show_secrets || c->accept_state_loss))
		return c->version ? "--version takes no other option" :
				    "--print-config-reference takes no other option";
	if (c->show_secrets && !c->print_config)
		return "--show-secrets goes with --print-config";
	if (c->foreground && actions)
		return "-f (--foreground) is for running the daemon";
	if (c->accept_state_loss && (c->check_config || c->print_config))
		return "--accept-state-loss is for running the daemon or --purge";
	if (c->forget_counters && !c->purge)
		return "--forget-counters goes with --purge";
	return NULL;
}

static int parse_args(int argc, char **argv, struct cli *c)
{
	enum { OPT_CHECK = 256, OPT_PRINT, OPT_VERSION, OPT_SECRETS, OPT_REFERENCE, OPT_PURGE,
	       OPT_ACCEPT_LOSS, OPT_FORGET };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"print-config", no_argument, NULL, OPT_PRINT},
		{"show-secrets", no_argument, NULL, OPT_SECRETS},
		{"version", no_argument, NULL, OPT_VERSION},
		{"print-config-reference", required_argument, NULL, OPT_REFERENCE},
		{"purge", required_argument, NULL, OPT_PURGE},
		{"accept-state-loss", no_argument, NULL, OPT_ACCEPT_LOSS},
		{"forget-counters", no_argument, NULL, OPT_FORGET},
		{NULL, 0, NULL, 0},
	};
	int ch;

	c->config_path = CONFIG_DEFAULT_PATH;
	while ((ch = getopt_long(argc, argv, "c:fvh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; c->config_given = true; break;
		case 'f': c->foreground = true; break;
		case 'v': c->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case OPT_CHECK: c->check_config = true; break;
		case OPT_PRINT: c->print_config = true; break;
		case OPT_SECRETS: c->show_secrets = true; break;
		case OPT_VERSION: c->version = true; break;
		case OPT_REFERENCE: c->reference = optarg; break;
		case OPT_PURGE: c->purge = optarg; break;
		case OPT_ACCEPT_LOSS: c->accept_state_loss = true; break;
		case OPT_FORGET: c->forget_counters = true; break;
		default: usage(stderr); return LB_ERR_INVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lorabridge: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return LB_ERR_INVAL;
	}
	const char *conflict = options_conflict(c);
	if (conflict) {
		fprintf(stderr, "lorabridge: %s\n", conflict);
		usage(stderr);
		return LB_ERR_INVAL;
	}
	return LB_OK;
}

/* State of a device removed from the configuration stays until purged
 * (its DevNonces must not become reusable by accident). The frame
 * counters of its sessions stay unless forget: its keys configured again,
 * under any DevEUI, go on above them (daemon/session.h). */
static int purge_device(const struct lb_config *cfg, const char *eui_text, bool accept_loss,
			bool forget)
{
	struct store st;
	uint64_t eui;

	if (hex_parse_u64_eui(eui_text, &eui) != LB_OK) {
		fprintf(stderr, "lorabridge: --purge: '%s' is not a DevEUI (16 hex digits)\n", eui_text);
		return EXIT_USAGE;
	}
	unsigned flags = accept_loss ? STORE_ACCEPT_STATE_LOSS : 0;
	int rc = store_open_flags(&st, cfg->state_dir, 0, flags);
	if (rc == LB_ERR_STATE_LOST) {
		fprintf(stderr, "lorabridge: %s has lost committed state (see above); purging "
			"would hide it: see --accept-state-loss\n", cfg->state_dir);
		return EXIT_STATE_LOST;
	}
	if (rc == LB_ERR_STATE) {
		fprintf(stderr, "lorabridge: %s is in use: stop the daemon first\n", cfg->state_dir);
		return EXIT_STARTUP;
	}
	if (rc != LB_OK) {
		fprintf(stderr, "lorabridge: cannot open %s: %s\n", cfg->state_dir, lb_strerror(rc));
		return rc == LB_ERR_UNUSABLE ? EXIT_UNUSABLE : EXIT_STARTUP;
	}
	rc = forget ? LB_OK : sessions_keep_purged(&st, eui);
	if (rc == LB_OK)
		rc = store_purge_flags(&st, eui, forget ? STORE_PURGE_FORGET_SEEN : 0);
	int closed = store_close(&st);   /* a failed sync there fails the purge */
	if (rc == LB_OK)
		rc = closed;
	if (rc == LB_ERR_NOT_FOUND) {
		fprintf(stderr, "lorabridge: nothing stored for %016llx\n", (unsigned long long)eui);
		return EXIT_NOTHING;
	}
	if (rc != LB_OK) {
		fprintf(stderr, "lorabridge: purge failed: %s\n", lb_strerror(rc));
		return EXIT_STARTUP;
	}
	printf("purged the stored state of %016llx%s\n", (unsigned long long)eui,
	       forget ? ", the frame counters of its keys too" :
			" (the frame counters of its keys are kept)");
	return 0;
}

/* The exit status of a failed load: 1 (the unit does not restart) for an
 * invalid, missing or unreadable file, 3 for a failure that may pass
 * (out of memory or descriptors, an I/O error). */
static int config_exit(int rc)
{
	return rc == LB_ERR_CONFIG || rc == LB_ERR_IO ? EXIT_CONFIG : EXIT_STARTUP;
}

static int load_config(const struct cli *c, struct lb_config *cfg)
{
	struct config_report rep = {0};
	/* --check-config keeps what was valid, to check its scripts as well */
	int rc = c->check_config ? config_check(c->config_path, cfg, &rep) :
				   config_load(c->config_path, cfg, &rep);

	/* Files with keys that other users can read or change: a warning each
	 * (only warnings: out of memory there just leaves some out). */
	if (rc != LB_ERR_IO && rc != LB_ERR_AGAIN)
		(void)config_warn_open_files(c->config_path, &rep);

	config_report_print(&rep, stderr);
	config_report_free(&rep);
	return rc;
}

/* The pipe closed without a report: the child is gone (it holds the write
 * end until it reports). Say how, where the daemon was started. */
static int child_died(pid_t pid)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		fprintf(stderr, "lorabridge: the daemon ended during start-up (see the system log)\n");
	else if (WIFSIGNALED(st))
		fprintf(stderr, "lorabridge: the daemon was killed by signal %d during start-up\n",
			WTERMSIG(st));
	else if (WIFEXITED(st))
		fprintf(stderr, "lorabridge: the daemon exited with status %d during start-up "
			"(see the system log)\n", WEXITSTATUS(st));
	else
		fprintf(stderr, "lorabridge: the daemon ended during start-up\n");
	return EXIT_STARTUP;
}

/*
 * Detach like daemon(3), but the parent stays until the child has started
 * (or failed to): its exit status is the child's start-up outcome, so
 * `lorabridge -c FILE` in a shell or an init script reports a port in use
 * or a locked state directory instead of exiting 0. Returns the write end
 * of the pipe the child reports on, or -1 on error.
 */
static int daemonize(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		uint8_t code = EXIT_STARTUP;
		close(p[1]);
		if (read(p[0], &code, 1) != 1)
			_exit(child_died(pid));
		_exit(code);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") != 0)
		return -1;
	/* stderr stays the caller's until the start-up is reported (below),
	 * so that a failed start says why where it was started. The log then
	 * goes there and to syslog; never only there, even if stderr is the
	 * journal's stream now: it is /dev/null once started. */
	unsetenv("JOURNAL_STREAM");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	return p[1];
}

/* Detached: the start-up is over, stderr leaves the caller's terminal or
 * pipe (from now on the log goes to syslog), then the waiting parent is
 * told, and exits with `code`. */
static void report_started(int *fd, uint8_t code)
{
	if (*fd < 0)
		return;
	fflush(stderr);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
	if (write(*fd, &code, 1) != 1)
		log_warn("main", "could not report the start-up status: %s", strerror(errno));
	close(*fd);
	*fd = -1;
}

static int exit_code(int rc)
{
	if (rc == LB_ERR_CONFIG)
		return EXIT_CONFIG;
	if (rc == LB_ERR_STATE_LOST)
		return EXIT_STATE_LOST;
	if (rc == LB_ERR_UNUSABLE)
		return EXIT_UNUSABLE;
	return rc == LB_OK ? 0 : EXIT_STARTUP;
}

static int run_daemon(const struct cli *c, struct lb_config *cfg)
{
	static struct bridge b; /* large tables: not on the stack */
	int level = cfg->log_level ? log_level_parse(cfg->log_level) : LOG_LVL_INFO;
	int started_fd = -1;

	if (c->verbose || level < 0)
		level = c->verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	/* Detaching moves to "/": keep the file findable for SIGHUP reloads. */
	char *abs = realpath(cfg->path ? cfg->path : c->config_path, NULL);
	if (abs) {
		free(cfg->path);
		cfg->path = abs;
	}
	if (!c->foreground && (started_fd = daemonize()) < 0) {
		perror("lorabridge: cannot detach");
		return EXIT_STARTUP;
	}
	log_open((enum log_level)level, !c->foreground);
	if (started_fd >= 0)
		log_stderr_max(LOG_LVL_WARN);
	struct bridge_opts o = {.accept_state_loss = c->accept_state_loss};
	int rc = bridge_init(&b, cfg, &o);
	if (rc != LB_OK) {
		log_error("main", "start-up failed: %s", lb_strerror(rc));
		/* Freed before the caller hears: the state directory's lock is
		 * let go, so a command run right after (--purge) finds it free. */
		(void)bridge_free(&b);
		report_started(&started_fd, (uint8_t)exit_code(rc));
		log_close();
		return exit_code(rc);
	}
	report_started(&started_fd, 0);
	rc = bridge_run(&b);
	/* a failed sync found by the store's close is one too (exit 3) */
	int closed = bridge_free(&b);
	if (rc == LB_OK)
		rc = closed;
	log_close();
	return exit_code(rc);
}

/* `lorabridge checkpoint-helper DATABASE [WAL_FD]`, started by the daemon
 * itself (store/store_ckpt.h). */
static int checkpoint_helper(int argc, char **argv)
{
	char *end = NULL;
	long fd = -1;

	if (argc == 4) {
		errno = 0;
		fd = strtol(argv[3], &end, 10);
		if (errno || end == argv[3] || *end || fd < 0 || fd > INT_MAX)
			argc = 0;   /* a usage error */
	}
	if (argc != 3 && argc != 4)
		return store_checkpoint_main(NULL, STDOUT_FILENO, -1);
	return store_checkpoint_main(argv[2], STDOUT_FILENO, (int)fd);
}

int main(int argc, char **argv)
{
	struct cli c = {0};
	struct lb_config cfg;

	if (argc > 1 && strcmp(argv[1], "airtime") == 0)
		return airtime_cli_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "decode") == 0)
		return decode_cli_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "passwd") == 0)
		return passwd_cli_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "top") == 0)
		return top_cli_main(argc - 1, argv + 1);
	/* The daemon's own WAL checkpoints, in a process of their own. */
	if (argc > 1 && strcmp(argv[1], STORE_CKPT_HELPER_ARG) == 0)
		return checkpoint_helper(argc, argv);
	if (parse_args(argc, argv, &c) != LB_OK)
		return EXIT_USAGE;
	if (c.version) {
		printf("lorabridge %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (c.reference)
		return print_reference(c.reference);
	/* glibc maps a block apart from the heap from 128 KiB, but raises that
	 * threshold to the size of any such block freed: after the
	 * configuration's parse, tables the bridge allocates at start-up for
	 * the worst case (the rings of the MQTT queue and of the outbox, 80 KB
	 * each, SQLite's page-cache blocks) came from the heap, where calloc()
	 * clears them and so touches every page. Fixed at 64 KiB, they are
	 * mapped apart, their pages untouched until used and returned when
	 * freed (0.2 MiB less idle with 1,000 devices; about 0.01 mmap and
	 * munmap per uplink in bench_syscalls.sh). */
	(void)mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	int rc = load_config(&c, &cfg);
	if (c.check_config) {
		if (rc != LB_OK && rc != LB_ERR_CONFIG)
			return config_exit(rc);
		/* A script that does not compile would leave its devices without
		 * `object`: a configuration error worth finding before a start,
		 * reported with the file's other problems. */
		size_t bad = payload_check_scripts(&cfg, stderr);
		config_free(&cfg);
		return bad || rc != LB_OK ? EXIT_CONFIG : 0;
	}
	if (rc != LB_OK) {
		fprintf(stderr, "lorabridge: cannot use %s: %s\n", c.config_path,
			rc == LB_ERR_AGAIN ? "a read failure that may pass (exit 3)" : lb_strerror(rc));
		return config_exit(rc);
	}
	if (c.purge) {
		rc = purge_device(&cfg, c.purge, c.accept_state_loss, c.forget_counters);
		config_free(&cfg);
		return rc;
	}
	if (c.print_config) {
		config_print(&cfg, stdout, c.show_secrets);
		config_free(&cfg);
		return 0;
	}
	return run_daemon(&c, &cfg);
}
