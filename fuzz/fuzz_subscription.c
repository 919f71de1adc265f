/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Subscription loading (subscription.c): the input is one subscription
 * file in the `wecutil gs /f:xml` format, validated against the schema;
 * a loaded subscription is rendered for both auth profiles, as an
 * Enumerate does.
 */
#include "config.h"

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "fuzz.h"
#include "soap.h"
#include "subscription.h"

static char fuzz_sub_path[128];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_quiet();
	soap_init();
	conf_set_schema_dir(FUZZ_SRCDIR "/schemas");
	snprintf(fuzz_sub_path, sizeof(fuzz_sub_path), "%s/sub.xml",
	    fuzz_mkdtemp());
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const thumbs[] = {
		"0123456789abcdef0123456789abcdef01234567",
	};
	struct subscription *sub = NULL;
	char *err = NULL;
	struct buf out;

	fuzz_write_file(fuzz_sub_path, data, size);
	buf_init(&out, 0);
	if (subscription_load_file(fuzz_sub_path, &sub, &err) == CD_EOK) {
		struct subscription_render_ctx ctx = {
			.base_url = "http://collector.example.com:5985",
			.auth = CONF_AUTH_KERBEROS,
			.bookmark = "<BookmarkList><Bookmark Channel=\"c\" "
			    "RecordId=\"1\" IsCurrent=\"true\"/></BookmarkList>",
		};
		char version[SUBSCRIPTION_VERSION_LEN];
		(void)subscription_allows(sub, "ws1$@EXAMPLE.COM");
		subscription_wire_version(sub, &ctx, version);
		if (subscription_render(sub, &ctx, &out) != CD_EOK)
			fuzz_fail("a loaded subscription does not render");
		buf_reset(&out);
		ctx.auth = CONF_AUTH_TLS;
		ctx.thumbprints = thumbs;
		ctx.nthumbprints = 1;
		if (subscription_render(sub, &ctx, &out) != CD_EOK)
			fuzz_fail("a loaded subscription does not render (tls)");
	}
	buf_free(&out);
	free(err);
	subscription_free(sub);
	return 0;
}
