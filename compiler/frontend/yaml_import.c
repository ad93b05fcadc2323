/*
 * The YAML front end's entry (the overview: yaml_internal.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_internal.h"

#define MAX_YAML_BYTES ((size_t)1 << 20)

static int syntax_error(const yaml_parser_t *p, const unsigned char *buf, size_t len, Diag *d)
{
	Loc at = {(int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1};
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors (bad UTF-8) carry a byte offset, not a mark. */
		at = (Loc){1, 1};
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n')
				at.line++, at.col = 1;
			else if ((buf[i] & 0xc0) != 0x80)
				at.col++;
		}
	}
	const char *problem = p->problem ? p->problem : "cannot parse";
	if (p->context && p->error != YAML_READER_ERROR)
		return y_err(d, at, "invalid YAML: %s (%s at %d:%d)", problem, p->context,
			       (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	return y_err(d, at, "invalid YAML: %s", problem);
}

/* libyaml's scanner does work proportional to the nesting depth for every
 * token, so "[[[[..." a megabyte deep takes minutes to load. A description
 * is three levels deep: refuse anything past MAX_DEPTH while streaming the
 * events, before the document is built. Syntax errors are left to the
 * loader, which reports them the same way. */
#define MAX_DEPTH 32

static int check_depth(const unsigned char *buf, size_t len, Diag *d)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return diag_set(d, "cannot initialise libyaml");
	yaml_parser_set_input_string(&p, buf, len);
	int depth = 0, rc = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev))
			break;
		yaml_event_type_t type = ev.type;
		Loc at = {(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1};
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			break;
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++depth > MAX_DEPTH) {
				rc = y_err(d, at, "lists and mappings are nested more than %d deep", MAX_DEPTH);
				break;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
	}
	yaml_parser_delete(&p);
	return rc;
}

static void spec_free(Spec *s)
{
	free(s->name);
	free(s->weights);
}

Graph *yaml_import(const char *path, const ImportOptions *opt, Diag *d)
{
	size_t len;
	unsigned char *buf = read_file(path, MAX_YAML_BYTES, &len, d);
	if (!buf)
		return NULL;
	if (check_depth(buf, len, d)) {
		free(buf);
		return NULL;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	Spec spec;
	memset(&spec, 0, sizeof spec);
	if (!yaml_parser_initialize(&parser)) {
		free(buf);
		diag_set(d, "cannot initialise libyaml");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	int rc = -1;
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(&parser, buf, len, d);
		goto out_parser;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		diag_set(d, "empty file: expected a ResNet description (resnetc: %d, input, block, stages, classes, weights)",
			 FORMAT_VERSION);
		goto out_doc;
	}
	yaml_document_t extra;
	if (!yaml_parser_load(&parser, &extra)) {
		syntax_error(&parser, buf, len, d);
		goto out_doc;
	}
	yaml_node_t *second = yaml_document_get_root_node(&extra);
	if (second)
		y_node_err(d, second, "a second YAML document; the file must hold one description");
	yaml_document_delete(&extra);
	if (second)
		goto out_doc;
	rc = y_read_spec(d, &doc, root, opt, &spec);
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	free(buf);
	if (rc) {
		spec_free(&spec);
		return NULL;
	}

	Graph *g = graph_new();
	free(g->path);
	g->path = xstrdup(path);
	g->opset = 13;
	if (spec.name) {
		free(g->name);
		g->name = xstrdup(spec.name);
	}
	StFile st;
	memset(&st, 0, sizeof st);
	/* A dry run first, so an absurd description is refused before its
	 * weights are allocated. */
	Builder b = {graph_new(), d, &spec, NULL, spec.weights, 1, 0};
	rc = y_build(&b);
	graph_free(b.g);
	if (!rc && b.n_params > MAX_PARAMS)
		rc = y_err(d, spec.stages_loc, "the network described has more than %lld parameters; too large",
			     (long long)MAX_PARAMS);
	b = (Builder){g, d, &spec, NULL, spec.weights, 0, 0};
	if (!rc && spec.weights) {
		char *dir = path_dir(path);
		char *wpath = confined_path(dir, spec.weights, d);
		free(dir);
		if (!wpath)
			rc = y_err(d, spec.weights_loc, "weights: %s", d->msg);
		else if (st_load(&st, wpath, d))
			rc = y_weights_err(&b, "%s", d->msg);
		free(wpath);
		b.st = &st;
	}
	if (!rc)
		rc = y_build(&b);
	st_free(&st);
	spec_free(&spec);
	if (rc) {
		graph_free(g);
		return NULL;
	}
	return g;
}
