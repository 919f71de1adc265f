/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Configuration loading (conf.c, conf_xml.c): the input is written to a
 * file and loaded as collectord.xml, validated against the real schema,
 * then checked with conf_check() when it loaded. Checked: success and
 * failure are exclusive (a configuration or an error text, never both).
 */
#include "config.h"

#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "fuzz.h"
#include "soap.h"

static char fuzz_conf_path[128];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_quiet();
	soap_init();
	conf_set_schema_dir(FUZZ_SRCDIR "/schemas");
	snprintf(fuzz_conf_path, sizeof(fuzz_conf_path), "%s/collectord.xml",
	    fuzz_mkdtemp());
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cd_conf *conf = NULL;
	char *err = NULL;
	int rc;

	fuzz_write_file(fuzz_conf_path, data, size);
	rc = conf_load(fuzz_conf_path, &conf, &err);
	if (rc == CD_EOK) {
		if (conf == NULL || err != NULL)
			fuzz_fail("conf_load succeeded without a configuration");
		if (conf_check(conf, &err) != CD_EOK && err == NULL)
			fuzz_fail("conf_check failed without a reason");
	} else if (conf != NULL) {
		fuzz_fail("conf_load failed but returned a configuration");
	}
	free(err);
	conf_free(conf);
	return 0;
}
