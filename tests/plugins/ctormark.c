/*
 * ctormark: a test plugin with an ELF constructor that leaves a mark: it
 * appends a line to the file named by $IOCA_CTOR_MARKER as soon as the
 * shared object is loaded, before any descriptor is looked at.
 * Invariant: the mark exists if and only if something dlopen()ed the file,
 * so a test can prove that an untrusted plugin file was never loaded.
 */
#include <stdio.h>
#include <stdlib.h>

#include <iocagent/plugin.h>

__attribute__((constructor)) static void ctormark_loaded(void)
{
	const char *path = getenv("IOCA_CTOR_MARKER");
	if (!path)
		return;
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	fputs("loaded\n", f);
	fclose(f);
}

static int ctormark_create(const struct ioca_host *host, struct ioca_instance *inst,
			   const struct ioca_opts *opts, void **state)
{
	(void)host;
	(void)inst;
	(void)opts;
	*state = NULL;
	return IOCA_OK;
}

static int ctormark_run(void *state)
{
	(void)state;
	return IOCA_OK;
}

static void ctormark_destroy(void *state)
{
	(void)state;
}

IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {
    .abi_major = IOCA_PLUGIN_ABI_MAJOR,
    .abi_minor = IOCA_PLUGIN_ABI_MINOR,
    .name = "ctormark",
    .version = "1.0.0",
    .description = "test plugin: its constructor marks a file when it is loaded",
    .options = NULL,
    .create = ctormark_create,
    .run = ctormark_run,
    .destroy = ctormark_destroy,
};
