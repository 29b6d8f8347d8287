/*
 * iocagent's command line: run the agent, check a configuration, list
 * plugins, or (internally) act as a worker process. Exit codes follow
 * sysexits: 0 ok, 64 usage, 78 configuration.
 */
#include <getopt.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "plugin_loader.h"
#include "worker.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iocagent [-c FILE]              run until SIGTERM/SIGINT (SIGHUP reloads)\n"
		"       iocagent -t [-c FILE]           check the configuration and exit\n"
		"       iocagent --list-plugins [-c FILE] [-v]\n"
		"       iocagent --version | --help\n"
		"options:\n"
		"  -c, --config FILE    configuration file (default %s)\n"
		"  -t, --check-config   validate everything, print 'configuration OK' or the problems\n"
		"      --list-plugins   one line per plugin in plugin_dir (-v: with options)\n"
		"  -v, --verbose        more detail for --list-plugins\n"
		"  -V, --version        print the version\n"
		"  -h, --help           this text\n",
		IOCA_DEFAULT_CONFIG_PATH);
}

static int check_config(const char *path)
{
	struct ioca_config cfg;
	struct ioca_diag diag = {0};
	if (ioca_config_load(path, NULL, &cfg, &diag) != IOCA_OK) {
		ioca_diag_print(&diag, stderr);
		ioca_diag_clear(&diag);
		return IOCA_EXIT_CONFIG;
	}
	ioca_config_free(&cfg);
	printf("configuration OK\n");
	return IOCA_EXIT_OK;
}

/* plugin_dir of the file, read without validating the rest of it. */
static char *plugin_dir_of(const char *path)
{
	config_t cfg;
	config_init(&cfg);
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

	enum { OPT_LIST_PLUGINS = 256 };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 't'},
		{"list-plugins", no_argument, NULL, OPT_LIST_PLUGINS},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = IOCA_DEFAULT_CONFIG_PATH;
	int check = 0, list = 0, verbose = 0, opt;
	while ((opt = getopt_long(argc, argv, "c:tvVh", longopts, NULL)) != -1) {
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
	if (optind < argc || (check && list)) {
		if (optind < argc)
			fprintf(stderr, "iocagent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return IOCA_EXIT_USAGE;
	}
	if (check)
		return check_config(config_path);
	if (list)
		return list_plugins(config_path, verbose);
	return ioca_core_run(config_path);
}
