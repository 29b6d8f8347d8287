/*
 * iocagent's command line: run the agent, check a configuration, list
 * plugins, run one instance in the foreground (--test, --snapshot: probe/),
 * or (internally) act as a worker process. Exit codes follow sysexits: 0 ok,
 * 64 usage, 78 configuration (probe.h adds those of --test / --snapshot).
 */
#include <getopt.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "export_mode.h"
#include "log.h"
#include "plugin_loader.h"
#include "probe.h"
#include "worker.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: iocagent [-c FILE]              run until SIGTERM/SIGINT (SIGHUP reloads)\n"
	    "       iocagent -t [-c FILE]           check the configuration and exit\n"
	    "       iocagent --list-plugins [-c FILE] [-v]\n"
	    "       iocagent --test INSTANCE [-c FILE] [--seconds N]\n"
	    "       iocagent --snapshot INSTANCE -o FILE.jpg [--overlay] [-c FILE]\n"
	    "       iocagent --export --from TIME --to TIME [--instance NAME]\n"
	    "                [--format jsonl|csv] [-c FILE]\n"
	    "       iocagent --version | --help\n"
	    "options:\n"
	    "  -c, --config FILE    configuration file (default %s)\n"
	    "  -t, --check-config   validate everything, print 'configuration OK' or the problems\n"
	    "      --list-plugins   one line per plugin in plugin_dir (-v: with options)\n"
	    "  -v, --verbose        more detail for --list-plugins\n"
	    "      --test INSTANCE  run one instance in the foreground and print what it\n"
	    "                       emits as JSON lines; publishes nothing, no state_dir\n"
	    "      --seconds N      --test: run N seconds (default: a camera's camera.online\n"
	    "                       and one analysed second, or any instance's first message)\n"
	    "      --snapshot INSTANCE  grab one picture of a camera instance into -o FILE.jpg\n"
	    "  -o, --output FILE    --snapshot: the JPEG to write\n"
	    "      --overlay        --snapshot: draw zones, masks, analysis grid and foreground\n"
	    "      --export         print archived messages with --from <= time < --to\n"
	    "                       (RFC 3339) to stdout, of one --instance or all\n"
	    "  -V, --version        print the version\n"
	    "  -h, --help           this text\n",
	    IOCA_DEFAULT_CONFIG_PATH);
}

/* plugin_dir of the file, read without validating the rest of it. */
static char *plugin_dir_of(const char *path)
{
	config_t cfg;
	config_init(&cfg);
	/* false positive: path is the default or the argument -c requires, never NULL */
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
	char *copy = strdup(path);
	if (copy)
		config_set_include_dir(&cfg, dirname(copy));
	free(copy);
	const char *dir = NULL;
	char *result = NULL;
	if (config_read_file(&cfg, path) == CONFIG_TRUE &&
	    config_lookup_string(&cfg, "agent.plugin_dir", &dir) == CONFIG_TRUE)
		result = strdup(dir);
	config_destroy(&cfg);
	return result ? result : strdup(IOCA_DEFAULT_PLUGIN_DIR);
}

static int list_plugins(const char *path, int verbose)
{
	char *dir = plugin_dir_of(path);
	if (!dir)
		return IOCA_EXIT_SOFTWARE;
	int n = ioca_plugin_list(dir, stdout, verbose);
	if (n == 0)
		fprintf(stderr, "no plugins found in %s\n", dir);
	free(dir);
	return IOCA_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], IOCA_WORKER_FLAG) == 0)
		return ioca_worker_main(argc, argv);

	enum {
		OPT_LIST_PLUGINS = 256,
		OPT_TEST,
		OPT_SECONDS,
		OPT_SNAPSHOT,
		OPT_OVERLAY,
		OPT_EXPORT,
		OPT_FROM,
		OPT_TO,
		OPT_INSTANCE,
		OPT_FORMAT
	};
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 't'},
	    {"list-plugins", no_argument, NULL, OPT_LIST_PLUGINS},
	    {"verbose", no_argument, NULL, 'v'},
	    {"test", required_argument, NULL, OPT_TEST},
	    {"seconds", required_argument, NULL, OPT_SECONDS},
	    {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
	    {"output", required_argument, NULL, 'o'},
	    {"overlay", no_argument, NULL, OPT_OVERLAY},
	    {"export", no_argument, NULL, OPT_EXPORT},
	    {"from", required_argument, NULL, OPT_FROM},
	    {"to", required_argument, NULL, OPT_TO},
	    {"instance", required_argument, NULL, OPT_INSTANCE},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = IOCA_DEFAULT_CONFIG_PATH;
	int check = 0, list = 0, verbose = 0, export = 0, opt;
	struct ioca_export_args ex = {0};
	struct ioca_probe_opts probe = {0};
	const char *test = NULL, *snapshot = NULL, *seconds = NULL;
	while ((opt = getopt_long(argc, argv, "c:to:vVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case OPT_LIST_PLUGINS:
			list = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_TEST:
			test = optarg;
			break;
		case OPT_SECONDS:
			seconds = optarg;
			break;
		case OPT_SNAPSHOT:
			snapshot = optarg;
			break;
		case 'o':
			probe.output = optarg;
			break;
		case OPT_OVERLAY:
			probe.overlay = true;
			break;
		case OPT_EXPORT:
			export = 1;
			break;
		case OPT_FROM:
			ex.from = optarg;
			break;
		case OPT_TO:
			ex.to = optarg;
			break;
		case OPT_INSTANCE:
			ex.instance = optarg;
			break;
		case OPT_FORMAT:
			ex.format = optarg;
			break;
		case 'V':
			printf("iocagent %s (plugin ABI %d.%d)\n", IOCA_VERSION,
			       IOCA_PLUGIN_ABI_MAJOR, IOCA_PLUGIN_ABI_MINOR);
			return IOCA_EXIT_OK;
		case 'h':
			usage(stdout);
			return IOCA_EXIT_OK;
		default:
			usage(stderr);
			return IOCA_EXIT_USAGE;
		}
	}
	if (optind < argc || check + list + !!test + !!snapshot + export > 1 ||
	    (!export && (ex.from || ex.to || ex.instance || ex.format))) {
		if (optind < argc)
			fprintf(stderr, "iocagent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return IOCA_EXIT_USAGE;
	}
	probe.config_path = config_path;
	if (test || snapshot || seconds || probe.output || probe.overlay) {
		const char *err =
		    ioca_probe_opts_set(&probe, test ? test : snapshot, !!snapshot, seconds);
		if (err) {
			fprintf(stderr, "iocagent: %s\n", err);
			usage(stderr);
			return IOCA_EXIT_USAGE;
		}
		return snapshot ? ioca_probe_snapshot(&probe) : ioca_probe_test(&probe);
	}
	if (check)
		return ioca_core_check(config_path);
	if (list)
		return list_plugins(config_path, verbose);
	if (export)
		return ioca_export_main(config_path, &ex);
	return ioca_core_run(config_path);
}
