/*
 * tf_run: run a TensorFlow SavedModel or frozen GraphDef through the TensorFlow C API, the layer
 * TF Java and the other language bindings wrap. modelport compiles it against the C API that the
 * tensorflow wheel ships and uses it to prove that an artifact gives the same numbers outside Python.
 *
 *   tf_run savedmodel DIR TAG       IN OUT FETCH...
 *   tf_run pb         FILE CONSTS|- IN OUT FETCH...
 *
 * CONSTS (pb only): a tensor file fed on every run besides IN, for a large frozen graph whose weight
 * constants modelport turned into placeholders (a session holding them as constants needs ~10x).
 * IN and OUT may be comma-separated lists of the same length: the model is loaded once and run
 * once per pair (loading the library and the model costs ~2 s, far more than a batch).
 * IN holds the feed tensors, OUT receives the fetched ones; both use the same small binary format
 * (little-endian): "MPT1", u32 count, then per tensor: u32 name length, name ("op:index"),
 * u32 TF_DataType, u32 rank, i64 dims[rank], u64 byte count, raw row-major data.
 * Exit status: 0 ok, 2 bad usage or input file, 3 TensorFlow error (message on stderr).
 */
#define _POSIX_C_SOURCE 200809L /* strdup, strtok_r */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorflow/c/c_api.h"

typedef struct {
  char *name;
  TF_Tensor *tensor;
} Named;

static void die(int code, const char *what, const char *detail) {
  fprintf(stderr, "tf_run: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(code);
}

static void check(TF_Status *s, const char *what) {
  if (TF_GetCode(s) != TF_OK) die(3, what, TF_Message(s));
}

static void read_exact(FILE *f, void *buf, size_t n) {
  if (n && fread(buf, 1, n, f) != n) die(2, "truncated input file", NULL);
}

static void free_data(void *data, size_t len, void *arg) { (void)len; (void)arg; free(data); }

static Named *read_tensors(const char *path, uint32_t *count) {
  FILE *f = fopen(path, "rb");
  if (!f) die(2, "cannot open input file", path);
  char magic[4];
  read_exact(f, magic, 4);
  if (memcmp(magic, "MPT1", 4) != 0) die(2, "input file is not MPT1", path);
  read_exact(f, count, 4);
  Named *out = calloc(*count, sizeof(Named));
  for (uint32_t i = 0; i < *count; i++) {
    uint32_t len, dtype, rank;
    read_exact(f, &len, 4);
    out[i].name = calloc(len + 1, 1);
    read_exact(f, out[i].name, len);
    read_exact(f, &dtype, 4);
    read_exact(f, &rank, 4);
    int64_t dims[16];
    if (rank > 16) die(2, "tensor rank above 16", out[i].name);
    read_exact(f, dims, 8 * (size_t)rank);
    uint64_t nbytes;
    read_exact(f, &nbytes, 8);
    void *data = malloc(nbytes ? nbytes : 1);
    read_exact(f, data, nbytes);
    out[i].tensor = TF_NewTensor((TF_DataType)dtype, dims, (int)rank, data, nbytes, free_data, NULL);
    if (!out[i].tensor) die(2, "tensor size does not match its shape", out[i].name);
  }
  fclose(f);
  return out;
}

static void write_tensors(const char *path, char **names, TF_Tensor **tensors, int n) {
  FILE *f = fopen(path, "wb");
  if (!f) die(2, "cannot write output file", path);
  uint32_t count = (uint32_t)n;
  fwrite("MPT1", 1, 4, f);
  fwrite(&count, 4, 1, f);
  for (int i = 0; i < n; i++) {
    uint32_t len = (uint32_t)strlen(names[i]);
    uint32_t dtype = (uint32_t)TF_TensorType(tensors[i]);
    uint32_t rank = (uint32_t)TF_NumDims(tensors[i]);
    fwrite(&len, 4, 1, f);
    fwrite(names[i], 1, len, f);
    fwrite(&dtype, 4, 1, f);
    fwrite(&rank, 4, 1, f);
    for (uint32_t d = 0; d < rank; d++) {
      int64_t dim = TF_Dim(tensors[i], (int)d);
      fwrite(&dim, 8, 1, f);
    }
    uint64_t nbytes = TF_TensorByteSize(tensors[i]);
    fwrite(&nbytes, 8, 1, f);
    fwrite(TF_TensorData(tensors[i]), 1, nbytes, f);
  }
  if (fclose(f) != 0) die(2, "cannot write output file", path);
}

/* "op:index" -> TF_Output in graph */
static TF_Output find_output(TF_Graph *graph, const char *name) {
  char op[1024];
  int index = 0;
  const char *colon = strrchr(name, ':');
  size_t len = colon ? (size_t)(colon - name) : strlen(name);
  if (len >= sizeof(op)) die(2, "tensor name too long", name);
  memcpy(op, name, len);
  op[len] = 0;
  if (colon) index = atoi(colon + 1);
  TF_Operation *oper = TF_GraphOperationByName(graph, op);
  if (!oper) die(3, "no such tensor in the graph", name);
  TF_Output out = {oper, index};
  return out;
}

static TF_Buffer *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die(2, "cannot open graph file", path);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *data = malloc((size_t)size);
  read_exact(f, data, (size_t)size);
  fclose(f);
  return TF_NewBufferFromString(data, (size_t)size);
}

static Named *constants = NULL; /* CONSTS: fed on every run, read once */
static uint32_t nconstants = 0;

static void run_once(TF_Graph *graph, TF_Session *session, TF_Status *status, const char *in, const char *out,
                     char **fetch_names, int nfetch);

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: tf_run savedmodel|pb PATH TAG|- IN OUT FETCH...\n");
    return 2;
  }
  const char *kind = argv[1], *path = argv[2], *tag = argv[3], *in = argv[4], *out = argv[5];
  int nfetch = argc - 6;
  char **fetch_names = argv + 6;

  TF_Status *status = TF_NewStatus();
  TF_Graph *graph = TF_NewGraph();
  TF_SessionOptions *opts = TF_NewSessionOptions();
  TF_Session *session = NULL;

  if (strcmp(kind, "savedmodel") == 0) {
    const char *tags[1] = {tag};
    session = TF_LoadSessionFromSavedModel(opts, NULL, path, tags, 1, graph, NULL, status);
    check(status, "cannot load SavedModel");
  } else if (strcmp(kind, "pb") == 0) {
    TF_Buffer *def = read_file(path);
    TF_ImportGraphDefOptions *import_opts = TF_NewImportGraphDefOptions();
    TF_GraphImportGraphDef(graph, def, import_opts, status);
    check(status, "cannot import GraphDef");
    TF_DeleteImportGraphDefOptions(import_opts);
    TF_DeleteBuffer(def);
    session = TF_NewSession(graph, opts, status);
    check(status, "cannot create session");
    if (strcmp(tag, "-") != 0) constants = read_tensors(tag, &nconstants);
  } else {
    die(2, "first argument must be savedmodel or pb", kind);
  }

  char *ins = strdup(in), *outs = strdup(out), *in_rest = NULL, *out_rest = NULL;
  char *in_path = strtok_r(ins, ",", &in_rest), *out_path = strtok_r(outs, ",", &out_rest);
  for (; in_path && out_path; in_path = strtok_r(NULL, ",", &in_rest), out_path = strtok_r(NULL, ",", &out_rest))
    run_once(graph, session, status, in_path, out_path, fetch_names, nfetch);
  if (in_path || out_path) die(2, "IN and OUT lists differ in length", in);
  free(ins);
  free(outs);
  for (uint32_t i = 0; i < nconstants; i++) {
    TF_DeleteTensor(constants[i].tensor);
    free(constants[i].name);
  }
  free(constants);
  TF_CloseSession(session, status);
  TF_DeleteSession(session, status);
  TF_DeleteSessionOptions(opts);
  TF_DeleteGraph(graph);
  TF_DeleteStatus(status);
  return 0;
}

static void run_once(TF_Graph *graph, TF_Session *session, TF_Status *status, const char *in, const char *out,
                     char **fetch_names, int nfetch) {
  uint32_t nfeed = 0;
  Named *feeds = read_tensors(in, &nfeed);
  uint32_t nall = nfeed + nconstants;
  TF_Output *feed_outs = calloc(nall ? nall : 1, sizeof(TF_Output));
  TF_Tensor **feed_values = calloc(nall ? nall : 1, sizeof(TF_Tensor *));
  for (uint32_t i = 0; i < nall; i++) {
    Named *fed = i < nfeed ? &feeds[i] : &constants[i - nfeed];
    feed_outs[i] = find_output(graph, fed->name);
    feed_values[i] = fed->tensor;
  }
  TF_Output *fetch_outs = calloc((size_t)nfetch, sizeof(TF_Output));
  TF_Tensor **fetch_values = calloc((size_t)nfetch, sizeof(TF_Tensor *));
  for (int i = 0; i < nfetch; i++) fetch_outs[i] = find_output(graph, fetch_names[i]);

  TF_SessionRun(session, NULL, feed_outs, feed_values, (int)nall, fetch_outs, fetch_values, nfetch,
                NULL, 0, NULL, status);
  check(status, "session run failed");
  write_tensors(out, fetch_names, fetch_values, nfetch);

  for (int i = 0; i < nfetch; i++) TF_DeleteTensor(fetch_values[i]);
  for (uint32_t i = 0; i < nfeed; i++) {
    TF_DeleteTensor(feeds[i].tensor);
    free(feeds[i].name);
  }
  free(feeds);
  free(feed_outs);
  free(feed_values);
  free(fetch_outs);
  free(fetch_values);
}
