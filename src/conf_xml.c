/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reading collectord's XML files (configuration and subscriptions) safely:
 * size cap, no DTD, no entity expansion, no network, XSD validation, and
 * every libxml2 error turned into a "file:line: reason" line.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "buf.h"
#include "conf.h"
#include "err.h"

/* Configuration and subscription files are small; anything bigger is a
 * mistake (or an attack on the parser), not a configuration. */
#define CONF_MAX_FILE	(4u * 1024 * 1024)

static char *conf_schemas;

static void conf_xml_error(void *, xmlErrorPtr);

int
conf_set_schema_dir(const char *dir)
{
	char *copy = strdup(dir);

	if (copy == NULL)
		return -ENOMEM;
	free(conf_schemas);
	conf_schemas = copy;
	return CD_EOK;
}

const char *
conf_schema_dir(void)
{
	return conf_schemas != NULL ? conf_schemas : PKGDATADIR "/schemas";
}

void
conf_err(struct buf *errs, const char *file, long line, const char *fmt, ...)
{
	va_list ap;

	if (errs->len > 0)
		buf_puts(errs, "\n");
	if (line > 0)
		buf_printf(errs, "%s:%ld: ", file, line);
	else
		buf_printf(errs, "%s: ", file);
	va_start(ap, fmt);
	buf_vprintf(errs, fmt, ap);
	va_end(ap);
	/* libxml2 messages end in a newline; one error is one line. */
	while (errs->len > 0 && (errs->data[errs->len - 1] == '\n' ||
	    errs->data[errs->len - 1] == ' '))
		errs->data[--errs->len] = '\0';
}

char *
conf_err_take(struct buf *errs)
{
	char *s;

	if (errs->len == 0)
		buf_puts(errs, "unknown error");
	s = (char *)buf_steal(errs, NULL);
	return s != NULL ? s : strdup("out of memory");
}

struct conf_xml_errctx {
	struct buf	*errs;
	const char	*path;
};

static void
conf_xml_error(void *arg, xmlErrorPtr e)
{
	struct conf_xml_errctx *ec = arg;

	if (e == NULL || e->level == XML_ERR_WARNING)
		return;
	conf_err(ec->errs, e->file != NULL ? e->file : ec->path, e->line,
	    "%s", e->message != NULL ? e->message : "XML error");
}

static int
conf_read_file(const char *path, char **data, size_t *len)
{
	FILE *f;
	char *p = NULL;
	size_t n;
	int rc;

	if ((f = fopen(path, "rb")) == NULL)
		return -errno;
	if ((p = malloc(CONF_MAX_FILE + 1)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	n = fread(p, 1, CONF_MAX_FILE + 1, f);
	p[n <= CONF_MAX_FILE ? n : CONF_MAX_FILE] = '\0';
	if (ferror(f)) {
		rc = -EIO;
		goto fail;
	}
	if (n > CONF_MAX_FILE) {
		rc = CD_ETOOBIG;
		goto fail;
	}
	fclose(f);
	*data = p;
	*len = n;
	return CD_EOK;
fail:
	free(p);
	fclose(f);
	return rc;
}

char *
conf_xml_text(xmlNode *n)
{
	xmlChar *x = xmlNodeGetContent(n);
	const char *s, *e;
	char *r;

	if (x == NULL)
		return strdup("");
	s = (const char *)x;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	r = strndup(s, (size_t)(e - s));
	xmlFree(x);
	return r;
}

int
conf_xml_read(const char *path, const char *xsd, xmlDoc **out, struct buf *errs)
{
	struct conf_xml_errctx ec = { errs, path };
	xmlSchemaParserCtxt *pctx = NULL;
	xmlSchema *schema = NULL;
	xmlSchemaValidCtxt *vctx = NULL;
	xmlDoc *doc = NULL;
	char *data = NULL, *xsdpath = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = conf_read_file(path, &data, &len)) != CD_EOK) {
		conf_err(errs, path, 0, "%s", cd_strerror(rc));
		goto out;
	}
	/* Thread-local in libxml2, so a reload never steals another
	 * thread's errors; restored below. No XML_PARSE_NOENT/DTDLOAD. */
	xmlSetStructuredErrorFunc(&ec, conf_xml_error);
	doc = xmlReadMemory(data, (int)len, path, NULL,
	    XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		if (errs->len == 0)
			conf_err(errs, path, 0, "not well-formed XML");
		rc = CD_ECONFIG;
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		/* libxml2 keeps no line for a DTD node: find it in the text. */
		const char *dt = strstr(data, "<!DOCTYPE");
		long line = dt != NULL ? 1 : 0;

		for (const char *p = data; dt != NULL && p < dt; p++)
			line += *p == '\n';
		conf_err(errs, path, line, "a DOCTYPE is not allowed");
		rc = CD_ECONFIG;
		goto out;
	}
	if (asprintf(&xsdpath, "%s/%s", conf_schema_dir(), xsd) < 0) {
		xsdpath = NULL;
		rc = -ENOMEM;
		goto out;
	}
	if ((pctx = xmlSchemaNewParserCtxt(xsdpath)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(pctx, conf_xml_error, &ec);
	if ((schema = xmlSchemaParse(pctx)) == NULL) {
		conf_err(errs, xsdpath, 0, "cannot load the schema");
		rc = CD_ECONFIG;
		goto out;
	}
	if ((vctx = xmlSchemaNewValidCtxt(schema)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(vctx, conf_xml_error, &ec);
	if (xmlSchemaValidateDoc(vctx, doc) != 0) {
		if (errs->len == 0)
			conf_err(errs, path, 0, "does not match %s", xsd);
		rc = CD_ECONFIG;
		goto out;
	}
	*out = doc;
	doc = NULL;
	rc = CD_EOK;
out:
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSchemaFreeValidCtxt(vctx);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pctx);
	xmlFreeDoc(doc);
	free(xsdpath);
	free(data);
	return rc;
}
