/* The matcher's two hot loops in C: JSON text to the fields rules read, and the machine walk.
 *
 * eventpipes.patterns.native builds what this module reads and holds the rules for when it
 * is used; the pure-Python code is the reference (flatten.flatten over json.loads, and
 * machine._find), and property tests hold both equal. Both entry points return None for
 * anything they do not handle themselves, and the caller then takes the Python path:
 *
 * Schema.flatten(text) -> (values, members, has_arrays) | None
 *     One pass over the JSON text of an event. Objects and arrays at paths no rule reads are
 *     validated and skipped without building anything; leaves at paths some rule reads become
 *     the values flatten.flatten would give (strings, numbers through to_num, literals),
 *     with the same array memberships. None for text json.loads would reject or read
 *     differently than this scanner can tell cheaply: invalid JSON, NaN/Infinity, nesting past
 *     MAX_DEPTH, an escaped, empty or dotted key in an object on a rule's path (paths are
 *     dot-joined, so "a.b" as one key and as two nested keys are one path), a key some rule
 *     reads that occurs twice in one object (json.loads keeps the last).
 *
 * find(lowered_root, values) -> set of rule names
 *     machine._find over the lowered states (native.lower): tuples and dicts, with each
 *     child's lowered state in place of its id, so a hop is one tuple read, not a dict lookup.
 *
 * Neither keeps state between calls, and neither changes what it is given: many threads may
 * call them at once (each may release the GIL only inside the Python callbacks: to_num,
 * scanstring, and ValueIndex.targets for the index kinds not lowered).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512 /* deeper text goes to the Python path (which handles up to 1,101 levels) */

/* Set by configure(): the exact keys of the literals, values.Num, and values._SMALL_INTS. */
static PyObject *TRUE_KEY, *FALSE_KEY, *NULL_KEY, *NUM_TYPE, *SMALL_INTS;
static PyObject *KEY_NAME, *MICROS_NAME, *TEXT_NAME, *TARGETS_NAME, *LIT;

#define FIVE_BILLION 5000000000LL
#define LIMIT_MICROS (FIVE_BILLION * 1000000LL)

/* Num(micros, text), as its dataclass __init__ and __post_init__ make it (object.__setattr__
 * on the slots; key = micros, or ("lit", text) without). Steals both references. */
static PyObject *make_num(PyObject *micros, PyObject *text) {
    PyObject *num = NULL, *key = NULL;
    if (micros == NULL || text == NULL) goto done;
    num = ((PyTypeObject *)NUM_TYPE)->tp_alloc((PyTypeObject *)NUM_TYPE, 0);
    if (num == NULL) goto done;
    key = micros != Py_None ? Py_NewRef(micros) : PyTuple_Pack(2, LIT, text);
    if (key == NULL || PyObject_GenericSetAttr(num, MICROS_NAME, micros) ||
        PyObject_GenericSetAttr(num, TEXT_NAME, text) || PyObject_GenericSetAttr(num, KEY_NAME, key))
        Py_CLEAR(num);
done:
    Py_XDECREF(key);
    Py_XDECREF(micros);
    Py_XDECREF(text);
    return num;
}

/* values.to_num of an int (values._make_num past the cached small ones). Borrows number. */
static PyObject *int_num(PyObject *number) {
    PyObject *cached = PyDict_GetItemWithError(SMALL_INTS, number);
    if (cached != NULL) return Py_NewRef(cached);
    if (PyErr_Occurred()) return NULL;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(number, &overflow);
    if (v == -1 && PyErr_Occurred()) return NULL;
    PyObject *micros = (!overflow && v >= -FIVE_BILLION && v <= FIVE_BILLION) ? PyLong_FromLongLong(v * 1000000LL)
                                                                              : Py_NewRef(Py_None);
    return make_num(micros, PyObject_Str(number));
}

/* values.to_num of a float: its repr's digits, the fraction padded to six places. Reprs with an
 * exponent take values.to_num itself (the Decimal route), through the schema's to_num. */
static PyObject *float_num(double d, PyObject *to_num) {
    char *repr = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (repr == NULL) return NULL;
    PyObject *result = NULL;
    if (!isfinite(d)) {
        result = make_num(Py_NewRef(Py_None), PyUnicode_FromString(repr));
    } else if (strchr(repr, 'e') != NULL) {
        PyObject *number = PyFloat_FromDouble(d);
        result = number == NULL ? NULL : PyObject_CallOneArg(to_num, number);
        Py_XDECREF(number);
    } else {
        const char *point = strchr(repr, '.');
        size_t whole = point ? (size_t)(point - repr) : strlen(repr);
        size_t fraction = point ? strlen(point + 1) : 0;
        size_t digits = whole - (repr[0] == '-');
        PyObject *micros;
        if (fraction > 6 || digits > 10) {
            micros = Py_NewRef(Py_None); /* too precise, or past 5e9 in magnitude */
        } else {
            char buf[32];
            memcpy(buf, repr, whole);
            for (size_t k = 0; k < 6; k++) buf[whole + k] = k < fraction ? point[1 + k] : '0';
            buf[whole + 6] = '\0';
            long long v = strtoll(buf, NULL, 10);
            micros = (v >= -LIMIT_MICROS && v <= LIMIT_MICROS) ? PyLong_FromLongLong(v) : Py_NewRef(Py_None);
        }
        result = make_num(micros, PyUnicode_FromString(repr));
    }
    PyMem_Free(repr);
    return result;
}

/* ------------------------------------------------------------------ schema */

typedef struct Node Node;
typedef struct {
    PyObject *key;  /* one path segment (str) */
    PyObject *path; /* the dot-joined path (str) */
    int leaf;       /* a condition names the path */
    Node *child;    /* the path's object is walked into (some condition names a path below it) */
} Entry;
struct Node {
    Py_ssize_t n;
    Entry *entries;
    PyObject *index; /* key -> entry number (int), for nodes of more than SMALL_NODE entries; else NULL */
};

/* Up to this many keys under one object, a key is found by comparing it with each; past it,
 * through a dict (a rule set naming hundreds of detail fields must not cost a compare each). */
#define SMALL_NODE 16

typedef struct {
    PyObject_HEAD
    Node *root;
    PyObject *to_num;
    PyObject *scanstring;
} Schema;

static void node_free(Node *node) {
    if (node == NULL) return;
    for (Py_ssize_t i = 0; i < node->n; i++) {
        Py_XDECREF(node->entries[i].key);
        Py_XDECREF(node->entries[i].path);
        node_free(node->entries[i].child);
    }
    Py_XDECREF(node->index);
    PyMem_Free(node->entries);
    PyMem_Free(node);
}

/* tree: {key: (path, leaf, subtree or None)} */
static Node *node_build(PyObject *tree, int depth) {
    if (!PyDict_Check(tree)) {
        PyErr_SetString(PyExc_TypeError, "schema tree must be a dict");
        return NULL;
    }
    if (depth > 4096) {
        PyErr_SetString(PyExc_ValueError, "schema tree too deep");
        return NULL;
    }
    Node *node = PyMem_Calloc(1, sizeof(Node));
    if (node == NULL) return (Node *)PyErr_NoMemory();
    Py_ssize_t n = PyDict_GET_SIZE(tree);
    node->entries = PyMem_Calloc(n ? n : 1, sizeof(Entry));
    if (node->entries == NULL) {
        PyMem_Free(node);
        return (Node *)PyErr_NoMemory();
    }
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(tree, &pos, &key, &value)) {
        Entry *e = &node->entries[i];
        node->n = ++i;
        PyObject *path, *leaf, *sub;
        if (!PyUnicode_Check(key) || !PyArg_ParseTuple(value, "UOO", &path, &leaf, &sub)) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "schema keys must be str");
            node_free(node);
            return NULL;
        }
        Py_INCREF(key);
        e->key = key;
        Py_INCREF(path);
        e->path = path;
        e->leaf = PyObject_IsTrue(leaf);
        if (sub != Py_None) {
            e->child = node_build(sub, depth + 1);
            if (e->child == NULL) {
                node_free(node);
                return NULL;
            }
        }
    }
    if (node->n > SMALL_NODE) {
        node->index = PyDict_New();
        if (node->index == NULL) {
            node_free(node);
            return NULL;
        }
        for (Py_ssize_t k = 0; k < node->n; k++) {
            PyObject *number = PyLong_FromSsize_t(k);
            if (number == NULL || PyDict_SetItem(node->index, node->entries[k].key, number)) {
                Py_XDECREF(number);
                node_free(node);
                return NULL;
            }
            Py_DECREF(number);
        }
    }
    return node;
}

static int schema_init(Schema *self, PyObject *args, PyObject *kwds) {
    PyObject *tree, *to_num, *scanstring;
    static char *names[] = {"tree", "to_num", "scanstring", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO", names, &tree, &to_num, &scanstring)) return -1;
    Node *root = node_build(tree, 0);
    if (root == NULL) return -1;
    node_free(self->root);
    self->root = root;
    Py_INCREF(to_num);
    Py_XSETREF(self->to_num, to_num);
    Py_INCREF(scanstring);
    Py_XSETREF(self->scanstring, scanstring);
    return 0;
}

static void schema_dealloc(Schema *self) {
    node_free(self->root);
    Py_XDECREF(self->to_num);
    Py_XDECREF(self->scanstring);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ------------------------------------------------------------------ scanner */

typedef struct {
    long array;
    long index;
} Member;

typedef struct {
    PyObject *text;
    int kind;
    const void *data;
    Py_ssize_t len;
    Py_ssize_t pos;
    Schema *schema;
    PyObject *values;  /* path -> [value] */
    PyObject *members; /* path -> [membership] */
    long arrays;
    int nested;
    PyObject **array_paths; /* array number -> first path with a leaf in its elements (borrowed) */
    Py_ssize_t array_cap;
    Member *member;
    Py_ssize_t member_n, member_cap;
} Scan;

#define CH(s, i) PyUnicode_READ((s)->kind, (s)->data, (i))
#define FAIL (-1)

static inline void ws(Scan *s) {
    if (s->kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *bytes = (const Py_UCS1 *)s->data;
        Py_ssize_t i = s->pos, len = s->len;
        while (i < len && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\n' || bytes[i] == '\r')) i++;
        s->pos = i;
        return;
    }
    while (s->pos < s->len) {
        Py_UCS4 c = CH(s, s->pos);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        s->pos++;
    }
}

static inline int hexdigit(Py_UCS4 c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At an opening quote: checks the string as json.loads (strict) would, and moves past it.
 * start, end: the characters between the quotes; *escaped: whether a backslash occurs. */
static int scan_string(Scan *s, Py_ssize_t *start, Py_ssize_t *end, int *escaped, int *dotted) {
    Py_ssize_t i = s->pos + 1;
    *start = i;
    *escaped = 0;
    *dotted = 0;
    if (s->kind == PyUnicode_1BYTE_KIND) {
        /* Most text: run to the first character that needs a look, one byte at a time. */
        const Py_UCS1 *bytes = (const Py_UCS1 *)s->data;
        Py_ssize_t len = s->len;
        int dot = 0;
        while (i < len) {
            Py_UCS1 c = bytes[i];
            if (c == '"' || c == '\\' || c < 0x20) break;
            dot |= c == '.';
            i++;
        }
        *dotted = dot;
    }
    while (i < s->len) {
        Py_UCS4 c = CH(s, i);
        if (c == '"') {
            *end = i;
            s->pos = i + 1;
            return 0;
        }
        if (c < 0x20) return FAIL;
        if (c == '.') *dotted = 1;
        if (c == '\\') {
            *escaped = 1;
            if (i + 1 >= s->len) return FAIL;
            Py_UCS4 e = CH(s, i + 1);
            if (e == 'u') {
                if (i + 5 >= s->len) return FAIL;
                for (int k = 2; k < 6; k++)
                    if (!hexdigit(CH(s, i + k))) return FAIL;
                i += 6;
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't')
                return FAIL;
            i += 2;
            continue;
        }
        i++;
    }
    return FAIL;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? as json's scanner reads it. */
static int scan_number(Scan *s, int *is_float) {
    Py_ssize_t i = s->pos;
    *is_float = 0;
    if (i < s->len && CH(s, i) == '-') i++;
    if (i >= s->len) return FAIL;
    Py_UCS4 c = CH(s, i);
    if (c == '0') {
        i++;
    } else if (c >= '1' && c <= '9') {
        while (i < s->len && CH(s, i) >= '0' && CH(s, i) <= '9') i++;
    } else {
        return FAIL; /* includes -Infinity */
    }
    if (i + 1 < s->len && CH(s, i) == '.' && CH(s, i + 1) >= '0' && CH(s, i + 1) <= '9') {
        *is_float = 1;
        i += 2;
        while (i < s->len && CH(s, i) >= '0' && CH(s, i) <= '9') i++;
    }
    if (i < s->len && (CH(s, i) == 'e' || CH(s, i) == 'E')) {
        Py_ssize_t j = i + 1;
        if (j < s->len && (CH(s, j) == '-' || CH(s, j) == '+')) j++;
        if (j < s->len && CH(s, j) >= '0' && CH(s, j) <= '9') {
            *is_float = 1;
            i = j;
            while (i < s->len && CH(s, i) >= '0' && CH(s, i) <= '9') i++;
        }
        /* else: json reads the number without the exponent and fails on the 'e' after it */
    }
    s->pos = i;
    return 0;
}

static int match_word(Scan *s, const char *word) {
    Py_ssize_t n = (Py_ssize_t)strlen(word);
    if (s->pos + n > s->len) return FAIL;
    for (Py_ssize_t k = 0; k < n; k++)
        if (CH(s, s->pos + k) != (Py_UCS4)(unsigned char)word[k]) return FAIL;
    s->pos += n;
    return 0;
}

static int skip_value(Scan *s, int depth);

static int skip_container(Scan *s, int depth, Py_UCS4 close) {
    if (depth >= MAX_DEPTH) return FAIL;
    s->pos++;
    ws(s);
    if (s->pos < s->len && CH(s, s->pos) == close) {
        s->pos++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            Py_ssize_t a, b;
            int esc, dot;
            if (s->pos >= s->len || CH(s, s->pos) != '"') return FAIL;
            if (scan_string(s, &a, &b, &esc, &dot)) return FAIL;
            ws(s);
            if (s->pos >= s->len || CH(s, s->pos) != ':') return FAIL;
            s->pos++;
            ws(s);
        }
        if (skip_value(s, depth + 1)) return FAIL;
        ws(s);
        if (s->pos >= s->len) return FAIL;
        Py_UCS4 c = CH(s, s->pos);
        s->pos++;
        if (c == close) return 0;
        if (c != ',') return FAIL;
        ws(s);
    }
}

static int skip_value(Scan *s, int depth) {
    if (s->pos >= s->len) return FAIL;
    Py_UCS4 c = CH(s, s->pos);
    switch (c) {
    case '{': return skip_container(s, depth, '}');
    case '[': return skip_container(s, depth, ']');
    case '"': {
        Py_ssize_t a, b;
        int esc, dot;
        return scan_string(s, &a, &b, &esc, &dot);
    }
    case 't': return match_word(s, "true");
    case 'f': return match_word(s, "false");
    case 'n': return match_word(s, "null");
    default: {
        int is_float;
        return scan_number(s, &is_float);
    }
    }
}

/* The scalar at s->pos as flatten's leaf_value gives it (a new reference), or NULL. */
static PyObject *read_scalar(Scan *s) {
    Py_UCS4 c = CH(s, s->pos);
    if (c == '"') {
        Py_ssize_t a, b;
        int esc, dot;
        if (scan_string(s, &a, &b, &esc, &dot)) return NULL;
        if (!esc) return PyUnicode_Substring(s->text, a, b);
        PyObject *got = PyObject_CallFunction(s->schema->scanstring, "Oni", s->text, a, 1);
        if (got == NULL) return NULL;
        PyObject *str = NULL;
        if (PyTuple_Check(got) && PyTuple_GET_SIZE(got) == 2) {
            str = PyTuple_GET_ITEM(got, 0);
            Py_INCREF(str);
        }
        Py_DECREF(got);
        return str;
    }
    if (c == 't') return match_word(s, "true") ? NULL : Py_NewRef(Py_True);
    if (c == 'f') return match_word(s, "false") ? NULL : Py_NewRef(Py_False);
    if (c == 'n') return match_word(s, "null") ? NULL : Py_NewRef(Py_None);
    Py_ssize_t start = s->pos;
    int is_float;
    if (scan_number(s, &is_float)) return NULL;
    Py_ssize_t n = s->pos - start;
    char small[64];
    char *buf = n < (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc(n + 1);
    if (buf == NULL) return PyErr_NoMemory();
    for (Py_ssize_t k = 0; k < n; k++) buf[k] = (char)CH(s, start + k);
    buf[n] = '\0';
    PyObject *value = NULL;
    if (is_float) {
        /* what float(text) gives, as json.loads reads a number with a fraction or exponent */
        double d = PyOS_string_to_double(buf, NULL, NULL);
        if (!(d == -1.0 && PyErr_Occurred())) value = float_num(d, s->schema->to_num);
    } else {
        PyObject *number = PyLong_FromString(buf, NULL, 10);
        if (number != NULL) {
            value = int_num(number);
            Py_DECREF(number);
        }
    }
    if (buf != small) PyMem_Free(buf);
    return value;
}

static PyObject *membership(Scan *s) {
    PyObject *tuple = PyTuple_New(s->member_n);
    if (tuple == NULL) return NULL;
    for (Py_ssize_t k = 0; k < s->member_n; k++) {
        PyObject *pair = Py_BuildValue("(ll)", s->member[k].array, s->member[k].index);
        if (pair == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, k, pair);
    }
    return tuple;
}

static int record(Scan *s, PyObject *path, PyObject *value) {
    PyObject *member = membership(s);
    if (member == NULL) return FAIL;
    PyObject *found = PyDict_GetItemWithError(s->values, path);
    int rc = 0;
    if (found != NULL) {
        PyObject *members = PyDict_GetItemWithError(s->members, path);
        rc = (members == NULL || PyList_Append(found, value) || PyList_Append(members, member)) ? FAIL : 0;
    } else if (PyErr_Occurred()) {
        rc = FAIL;
    } else {
        PyObject *vs = PyList_New(1), *ms = PyList_New(1);
        if (vs == NULL || ms == NULL) {
            Py_XDECREF(vs);
            Py_XDECREF(ms);
            Py_DECREF(member);
            return FAIL;
        }
        Py_INCREF(value);
        PyList_SET_ITEM(vs, 0, value);
        Py_INCREF(member);
        PyList_SET_ITEM(ms, 0, member);
        rc = (PyDict_SetItem(s->values, path, vs) || PyDict_SetItem(s->members, path, ms)) ? FAIL : 0;
        Py_DECREF(vs);
        Py_DECREF(ms);
    }
    Py_DECREF(member);
    if (rc) return FAIL;
    /* flatten._Walk.note_arrays: two paths with leaves in one array's elements */
    for (Py_ssize_t k = 0; k < s->member_n; k++) {
        long array = s->member[k].array;
        if (array >= s->array_cap) return FAIL; /* cannot happen: arrays are numbered as met */
        PyObject *first = s->array_paths[array];
        if (first == NULL)
            s->array_paths[array] = path;
        else if (first != path)
            s->nested = 1;
    }
    return 0;
}

static int walk_object(Scan *s, Node *node, int depth);
static int walk_members(Scan *s, Node *node, int depth, unsigned char *seen);

/* The value at s->pos sits at the wanted path of entry e. */
static int walk_value(Scan *s, Entry *e, int depth) {
    if (s->pos >= s->len) return FAIL;
    Py_UCS4 c = CH(s, s->pos);
    if (c == '{') {
        if (e->child == NULL) return skip_value(s, depth);
        return walk_object(s, e->child, depth);
    }
    if (c == '[') {
        if (depth >= MAX_DEPTH) return FAIL;
        long array = ++s->arrays;
        if (array >= s->array_cap) {
            Py_ssize_t cap = s->array_cap * 2 + 16;
            PyObject **grown = PyMem_Realloc(s->array_paths, cap * sizeof(PyObject *));
            if (grown == NULL) return FAIL;
            memset(grown + s->array_cap, 0, (cap - s->array_cap) * sizeof(PyObject *));
            s->array_paths = grown;
            s->array_cap = cap;
        }
        s->pos++;
        ws(s);
        if (s->pos < s->len && CH(s, s->pos) == ']') {
            s->pos++;
            return 0;
        }
        for (long index = 0;; index++) {
            if (s->pos >= s->len) return FAIL;
            Py_UCS4 first = CH(s, s->pos);
            if (first == '{' || first == '[') {
                if (s->member_n >= s->member_cap) {
                    Py_ssize_t cap = s->member_cap * 2 + 8;
                    Member *grown = PyMem_Realloc(s->member, cap * sizeof(Member));
                    if (grown == NULL) return FAIL;
                    s->member = grown;
                    s->member_cap = cap;
                }
                s->member[s->member_n].array = array;
                s->member[s->member_n].index = index;
                s->member_n++;
                int rc = walk_value(s, e, depth + 1);
                s->member_n--;
                if (rc) return FAIL;
            } else if (walk_value(s, e, depth + 1)) {
                return FAIL;
            }
            ws(s);
            if (s->pos >= s->len) return FAIL;
            Py_UCS4 next = CH(s, s->pos);
            s->pos++;
            if (next == ']') return 0;
            if (next != ',') return FAIL;
            ws(s);
        }
    }
    if (!e->leaf) return skip_value(s, depth);
    PyObject *value = read_scalar(s);
    if (value == NULL) return FAIL;
    int rc = record(s, e->path, value);
    Py_DECREF(value);
    return rc;
}

static Entry *indexed_entry(Node *node, PyObject *key, Py_ssize_t *at, int *error) {
    PyObject *number = PyDict_GetItemWithError(node->index, key);
    if (number == NULL) {
        *error = PyErr_Occurred() != NULL;
        return NULL;
    }
    *at = PyLong_AsSsize_t(number);
    return &node->entries[*at];
}

static Entry *find_entry(Scan *s, Node *node, Py_ssize_t a, Py_ssize_t b, Py_ssize_t *at, int *error) {
    Py_ssize_t n = b - a;
    *error = 0;
    if (node->index != NULL) {
        PyObject *key = PyUnicode_Substring(s->text, a, b);
        if (key == NULL) {
            *error = 1;
            return NULL;
        }
        Entry *e = indexed_entry(node, key, at, error);
        Py_DECREF(key);
        return e;
    }
    for (Py_ssize_t i = 0; i < node->n; i++) {
        PyObject *key = node->entries[i].key;
        if (PyUnicode_GET_LENGTH(key) != n) continue;
        int kind = PyUnicode_KIND(key);
        const void *data = PyUnicode_DATA(key);
        Py_ssize_t k = 0;
        while (k < n && PyUnicode_READ(kind, data, k) == CH(s, a + k)) k++;
        if (k == n) {
            *at = i;
            return &node->entries[i];
        }
    }
    return NULL;
}

static int walk_object(Scan *s, Node *node, int depth) {
    if (depth >= MAX_DEPTH) return FAIL;
    /* which of the node's keys this object has had (json.loads keeps the last of two) */
    unsigned char small[64] = {0};
    unsigned char *seen = node->n <= 64 ? small : PyMem_Calloc(node->n, 1);
    if (seen == NULL) return FAIL;
    int rc = walk_members(s, node, depth, seen);
    if (seen != small) PyMem_Free(seen);
    return rc;
}

static int walk_members(Scan *s, Node *node, int depth, unsigned char *seen) {
    s->pos++;
    ws(s);
    if (s->pos < s->len && CH(s, s->pos) == '}') {
        s->pos++;
        return 0;
    }
    for (;;) {
        Py_ssize_t a, b, at = 0;
        int esc, dot;
        if (s->pos >= s->len || CH(s, s->pos) != '"') return FAIL;
        if (scan_string(s, &a, &b, &esc, &dot)) return FAIL;
        if (esc || dot || a == b) return FAIL;
        ws(s);
        if (s->pos >= s->len || CH(s, s->pos) != ':') return FAIL;
        s->pos++;
        ws(s);
        int error;
        Entry *e = find_entry(s, node, a, b, &at, &error);
        if (error) return FAIL;
        if (e == NULL) {
            if (skip_value(s, depth + 1)) return FAIL;
        } else {
            if (seen[at]) return FAIL;
            seen[at] = 1;
            if (walk_value(s, e, depth + 1)) return FAIL;
        }
        ws(s);
        if (s->pos >= s->len) return FAIL;
        Py_UCS4 c = CH(s, s->pos);
        s->pos++;
        if (c == '}') return 0;
        if (c != ',') return FAIL;
        ws(s);
    }
}

static PyObject *schema_flatten(Schema *self, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be str");
        return NULL;
    }
    Scan s;
    memset(&s, 0, sizeof(s));
    s.text = text;
    s.kind = PyUnicode_KIND(text);
    s.data = PyUnicode_DATA(text);
    s.len = PyUnicode_GET_LENGTH(text);
    s.schema = self;
    s.values = PyDict_New();
    s.members = PyDict_New();
    PyObject *result = NULL;
    if (s.values == NULL || s.members == NULL) goto done;
    ws(&s);
    if (s.pos >= s.len || CH(&s, s.pos) != '{') goto bail;
    if (walk_object(&s, self->root, 0)) goto bail;
    ws(&s);
    if (s.pos != s.len) goto bail;
    result = Py_BuildValue("(OOO)", s.values, s.members, s.nested ? Py_True : Py_False);
    goto done;
bail:
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) goto done; /* KeyboardInterrupt and the like */
        PyErr_Clear();
    }
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(s.values);
    Py_XDECREF(s.members);
    PyMem_Free(s.array_paths);
    PyMem_Free(s.member);
    return result;
}

/* ------------------------------------------------------------------ parsed events */

/* flatten.flatten over an already parsed event, for exact JSON types only (dict, list, str,
 * int, float, bool, None with str keys): anything else, and the keys the text scan defers on,
 * go back to the Python walk. Same traversal order as the Python walk, so arrays get the same
 * numbers and each path its values in the same order. */

static Entry *entry_for_key(Node *node, PyObject *key, Py_ssize_t n, int *error) {
    *error = 0;
    if (node->index != NULL) {
        Py_ssize_t at;
        return indexed_entry(node, key, &at, error);
    }
    int kind = PyUnicode_KIND(key);
    const void *data = PyUnicode_DATA(key);
    for (Py_ssize_t i = 0; i < node->n; i++) {
        PyObject *k = node->entries[i].key;
        if (PyUnicode_GET_LENGTH(k) == n && PyUnicode_KIND(k) == kind &&
            memcmp(PyUnicode_DATA(k), data, (size_t)n * kind) == 0)
            return &node->entries[i];
    }
    return NULL;
}

static int owalk_object(Scan *s, Node *node, PyObject *object, int depth);

static int owalk_value(Scan *s, Entry *e, PyObject *node, int depth) {
    if (PyDict_CheckExact(node)) return e->child == NULL ? 0 : owalk_object(s, e->child, node, depth);
    if (PyList_CheckExact(node)) {
        if (depth >= MAX_DEPTH) return FAIL;
        long array = ++s->arrays;
        if (array >= s->array_cap) {
            Py_ssize_t cap = s->array_cap * 2 + 16;
            PyObject **grown = PyMem_Realloc(s->array_paths, cap * sizeof(PyObject *));
            if (grown == NULL) return FAIL;
            memset(grown + s->array_cap, 0, (cap - s->array_cap) * sizeof(PyObject *));
            s->array_paths = grown;
            s->array_cap = cap;
        }
        for (Py_ssize_t index = 0; index < PyList_GET_SIZE(node); index++) {
            PyObject *child = Py_NewRef(PyList_GET_ITEM(node, index));
            int rc;
            if (PyDict_CheckExact(child) || PyList_CheckExact(child)) {
                if (s->member_n >= s->member_cap) {
                    Py_ssize_t cap = s->member_cap * 2 + 8;
                    Member *grown = PyMem_Realloc(s->member, cap * sizeof(Member));
                    if (grown == NULL) {
                        Py_DECREF(child);
                        return FAIL;
                    }
                    s->member = grown;
                    s->member_cap = cap;
                }
                s->member[s->member_n].array = array;
                s->member[s->member_n].index = (long)index;
                s->member_n++;
                rc = owalk_value(s, e, child, depth + 1);
                s->member_n--;
            } else {
                rc = owalk_value(s, e, child, depth + 1);
            }
            Py_DECREF(child);
            if (rc) return FAIL;
        }
        return 0;
    }
    PyObject *value;
    if (PyUnicode_CheckExact(node) || node == Py_None || PyBool_Check(node)) {
        value = Py_NewRef(node);
    } else if (PyLong_CheckExact(node)) {
        if (!e->leaf) return 0;
        value = int_num(node);
    } else if (PyFloat_CheckExact(node)) {
        if (!e->leaf) return 0;
        value = float_num(PyFloat_AS_DOUBLE(node), s->schema->to_num);
    } else {
        return FAIL; /* a Mapping that is no dict, a list subclass, Decimal, ...: the Python walk */
    }
    if (value == NULL) return FAIL;
    int rc = e->leaf ? record(s, e->path, value) : 0;
    Py_DECREF(value);
    return rc;
}

static int owalk_object(Scan *s, Node *node, PyObject *object, int depth) {
    if (depth >= MAX_DEPTH) return FAIL;
    Py_ssize_t pos = 0;
    PyObject *key, *child;
    while (PyDict_Next(object, &pos, &key, &child)) {
        if (!PyUnicode_CheckExact(key)) return FAIL;
        Py_ssize_t n = PyUnicode_GET_LENGTH(key);
        if (n == 0) return FAIL;
        int error;
        Entry *e = entry_for_key(node, key, n, &error);
        if (error) return FAIL;
        if (e == NULL) {
            /* "a.b" as one key is the path a.b, which the tree cannot say: the Python walk */
            if (PyUnicode_FindChar(key, '.', 0, n, 1) != -1) return FAIL;
            continue;
        }
        Py_INCREF(key);
        Py_INCREF(child); /* the callbacks may let another thread at the dict */
        int rc = owalk_value(s, e, child, depth + 1);
        Py_DECREF(key);
        Py_DECREF(child);
        if (rc) return FAIL;
    }
    return 0;
}

static PyObject *schema_flatten_object(Schema *self, PyObject *event) {
    if (!PyDict_CheckExact(event)) Py_RETURN_NONE;
    Scan s;
    memset(&s, 0, sizeof(s));
    s.schema = self;
    s.values = PyDict_New();
    s.members = PyDict_New();
    PyObject *result = NULL;
    if (s.values == NULL || s.members == NULL) goto done;
    if (owalk_object(&s, self->root, event, 0)) {
        if (PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_Exception)) goto done;
            PyErr_Clear();
        }
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = Py_BuildValue("(OOO)", s.values, s.members, s.nested ? Py_True : Py_False);
done:
    Py_XDECREF(s.values);
    Py_XDECREF(s.members);
    PyMem_Free(s.array_paths);
    PyMem_Free(s.member);
    return result;
}

static PyMethodDef schema_methods[] = {
    {"flatten", (PyCFunction)schema_flatten, METH_O,
     "flatten(text) -> (values, members, has_arrays) or None (take the Python path)."},
    {"flatten_object", (PyCFunction)schema_flatten_object, METH_O,
     "flatten_object(event: dict) -> (values, members, has_arrays) or None (take the Python path)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SchemaType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "eventpipes.patterns._native.Schema",
    .tp_basicsize = sizeof(Schema),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The field paths rules read, as a tree for flattening JSON text.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)schema_init,
    .tp_dealloc = (destructor)schema_dealloc,
    .tp_methods = schema_methods,
};

/* ------------------------------------------------------------------ walk */


typedef struct {
    PyObject **items; /* borrowed: the lowered machine outlives the call */
    Py_ssize_t n, cap;
} Stack;

static int push(Stack *st, PyObject *item) {
    if (st->n >= st->cap) {
        Py_ssize_t cap = st->cap * 2 + 32;
        PyObject **grown = PyMem_Realloc(st->items, cap * sizeof(PyObject *));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        st->items = grown;
        st->cap = cap;
    }
    st->items[st->n++] = item;
    return 0;
}

static int push_all(Stack *st, PyObject *children) {
    Py_ssize_t n = PyTuple_GET_SIZE(children);
    for (Py_ssize_t i = 0; i < n; i++)
        if (push(st, PyTuple_GET_ITEM(children, i))) return -1;
    return 0;
}

static int lookup(PyObject *table, PyObject *key, Stack *out) {
    PyObject *found = PyDict_GetItemWithError(table, key);
    if (found == NULL) return PyErr_Occurred() ? -1 : 0;
    return push_all(out, found);
}

/* Edge: (exact, prefix, prefix_lengths, bounds, regions, general) */
/* The child states that any of the n values leads to along one edge (appended to out). */
static int edge_targets(PyObject *edge, PyObject *const *items, Py_ssize_t n, Stack *out) {
    PyObject *exact = PyTuple_GET_ITEM(edge, 0);
    PyObject *prefix = PyTuple_GET_ITEM(edge, 1);
    PyObject *lengths = PyTuple_GET_ITEM(edge, 2);
    PyObject *bounds = PyTuple_GET_ITEM(edge, 3);
    PyObject *regions = PyTuple_GET_ITEM(edge, 4);
    PyObject *general = PyTuple_GET_ITEM(edge, 5);
    if (general != Py_None) {
        /* (index, children by id): index.targets(value, ids) for each value, as machine._find */
        PyObject *index = PyTuple_GET_ITEM(general, 0), *kids = PyTuple_GET_ITEM(general, 1);
        PyObject *ids = PyList_New(0);
        if (ids == NULL) return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *r = PyObject_CallMethodObjArgs(index, TARGETS_NAME, items[i], ids, NULL);
            if (r == NULL) {
                Py_DECREF(ids);
                return -1;
            }
            Py_DECREF(r);
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(ids); i++) {
            PyObject *child = PyDict_GetItemWithError(kids, PyList_GET_ITEM(ids, i));
            if (child == NULL) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "child id");
                Py_DECREF(ids);
                return -1;
            }
            if (push(out, child)) {
                Py_DECREF(ids);
                return -1;
            }
        }
        Py_DECREF(ids);
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = items[i];
        if (PyUnicode_CheckExact(value)) {
            if (exact != Py_None && lookup(exact, value, out)) return -1;
            if (prefix != Py_None) {
                Py_ssize_t size = PyUnicode_GET_LENGTH(value);
                for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(lengths); k++) {
                    Py_ssize_t length = PyLong_AsSsize_t(PyTuple_GET_ITEM(lengths, k));
                    if (length > size) break;
                    PyObject *head = PyUnicode_Substring(value, 0, length);
                    if (head == NULL) return -1;
                    int rc = lookup(prefix, head, out);
                    Py_DECREF(head);
                    if (rc) return -1;
                }
            }
            continue;
        }
        if (value == Py_True || value == Py_False || value == Py_None) {
            if (exact != Py_None) {
                PyObject *key = value == Py_True ? TRUE_KEY : value == Py_False ? FALSE_KEY : NULL_KEY;
                if (lookup(exact, key, out)) return -1;
            }
            continue;
        }
        /* a Num (the only other kind of value a flattened event holds) */
        if (exact != Py_None) {
            PyObject *key = PyObject_GetAttr(value, KEY_NAME);
            if (key == NULL) return -1;
            int rc = lookup(exact, key, out);
            Py_DECREF(key);
            if (rc) return -1;
        }
        if (bounds != Py_None) {
            PyObject *micros = PyObject_GetAttr(value, MICROS_NAME);
            if (micros == NULL) return -1;
            if (micros == Py_None) {
                Py_DECREF(micros);
                continue;
            }
            long long m = PyLong_AsLongLong(micros);
            Py_DECREF(micros);
            if (m == -1 && PyErr_Occurred()) return -1;
            /* bisect_left over the packed ascending bounds (native int64) */
            const long long *b = (const long long *)PyBytes_AS_STRING(bounds);
            Py_ssize_t count = PyBytes_GET_SIZE(bounds) / (Py_ssize_t)sizeof(long long);
            Py_ssize_t lo = 0, hi = count;
            while (lo < hi) {
                Py_ssize_t mid = (lo + hi) / 2;
                if (b[mid] < m)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            Py_ssize_t region = (lo < count && b[lo] == m) ? 2 * lo + 1 : 2 * lo;
            if (push_all(out, PyTuple_GET_ITEM(regions, region))) return -1;
        }
    }
    return 0;
}

/* find(root, values): State = (rules or None, {path: edge}, ((path, children), ...) or None) */
static PyObject *find(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyTuple_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "find(lowered_root, values)");
        return NULL;
    }
    PyObject *values = args[1];
    PyObject *found = PySet_New(NULL);
    if (found == NULL) return NULL;
    Stack stack = {0}, buffer = {0};
    if (push(&stack, args[0])) goto error;
    while (stack.n) {
        PyObject *state = stack.items[--stack.n];
        PyObject *rules = PyTuple_GET_ITEM(state, 0);
        PyObject *edges = PyTuple_GET_ITEM(state, 1);
        PyObject *absent = PyTuple_GET_ITEM(state, 2);
        if (rules != Py_None) {
            PyObject *r = PyNumber_InPlaceOr(found, rules);
            if (r == NULL) goto error;
            Py_DECREF(r);
        }
        Py_ssize_t pos = 0;
        PyObject *path, *item;
        if (PyDict_GET_SIZE(edges) <= PyDict_GET_SIZE(values)) {
            while (PyDict_Next(edges, &pos, &path, &item)) {
                PyObject *at = PyDict_GetItemWithError(values, path);
                if (at == NULL) {
                    if (PyErr_Occurred()) goto error;
                    continue;
                }
                if (PyList_GET_SIZE(at) && edge_targets(item, PySequence_Fast_ITEMS(at), PyList_GET_SIZE(at), &buffer))
                    goto error;
            }
        } else {
            while (PyDict_Next(values, &pos, &path, &item)) {
                PyObject *edge = PyDict_GetItemWithError(edges, path);
                if (edge == NULL) {
                    if (PyErr_Occurred()) goto error;
                    continue;
                }
                if (PyList_GET_SIZE(item) && edge_targets(edge, PySequence_Fast_ITEMS(item), PyList_GET_SIZE(item), &buffer))
                    goto error;
            }
        }
        if (absent != Py_None) {
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(absent); i++) {
                PyObject *entry = PyTuple_GET_ITEM(absent, i);
                int has = PyDict_Contains(values, PyTuple_GET_ITEM(entry, 0));
                if (has < 0) goto error;
                if (!has && push_all(&buffer, PyTuple_GET_ITEM(entry, 1))) goto error;
            }
        }
        /* each child once (a few at most: a linear check, as machine._find does) */
        for (Py_ssize_t i = 0; i < buffer.n; i++) {
            Py_ssize_t j = 0;
            while (j < i && buffer.items[j] != buffer.items[i]) j++;
            if (j == i && push(&stack, buffer.items[i])) goto error;
        }
        buffer.n = 0;
    }
    PyMem_Free(stack.items);
    PyMem_Free(buffer.items);
    return found;
error:
    PyMem_Free(stack.items);
    PyMem_Free(buffer.items);
    Py_DECREF(found);
    return NULL;
}

/* ------------------------------------------------------------------ walk with array positions */

/* machine.merge: the array positions of both (tuples of (array, element) pairs, ascending by
 * array), or None when they put one array at two elements. New reference; NULL on error. */
static PyObject *merge(PyObject *taken, PyObject *more) {
    Py_ssize_t m = PyTuple_GET_SIZE(taken), n = PyTuple_GET_SIZE(more);
    if (n == 0) return Py_NewRef(taken);
    if (m == 0) return Py_NewRef(more);
    PyObject *out = PyTuple_New(m + n);
    if (out == NULL) return NULL;
    Py_ssize_t i = 0, j = 0, k = 0;
    while (i < m || j < n) {
        PyObject *pick;
        if (j >= n) {
            pick = PyTuple_GET_ITEM(taken, i++);
        } else if (i >= m) {
            pick = PyTuple_GET_ITEM(more, j++);
        } else {
            PyObject *a = PyTuple_GET_ITEM(taken, i), *b = PyTuple_GET_ITEM(more, j);
            long array_a = PyLong_AsLong(PyTuple_GET_ITEM(a, 0)), array_b = PyLong_AsLong(PyTuple_GET_ITEM(b, 0));
            if (array_a < array_b) {
                pick = a;
                i++;
            } else if (array_b < array_a) {
                pick = b;
                j++;
            } else {
                int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(a, 1), PyTuple_GET_ITEM(b, 1), Py_EQ);
                if (same <= 0) {
                    Py_DECREF(out);
                    return same < 0 ? NULL : Py_NewRef(Py_None);
                }
                pick = a;
                i++;
                j++;
            }
        }
        PyTuple_SET_ITEM(out, k++, Py_NewRef(pick));
    }
    if (k < m + n && _PyTuple_Resize(&out, k) < 0) return NULL;
    return out;
}

/* machine._absences_hold: no value at a pending path can sit with the positions taken. */
static int absences_hold(PyObject *pending, PyObject *taken, PyObject *members) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(pending); i++) {
        PyObject *at = PyDict_GetItemWithError(members, PyTuple_GET_ITEM(pending, i));
        if (at == NULL) {
            if (PyErr_Occurred()) return -1;
            PyErr_SetString(PyExc_KeyError, "pending path");
            return -1;
        }
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(at); k++) {
            PyObject *joined = merge(taken, PyList_GET_ITEM(at, k));
            if (joined == NULL) return -1;
            int fits = joined != Py_None;
            Py_DECREF(joined);
            if (fits) return 0;
        }
    }
    return 1;
}

typedef struct {
    PyObject *state; /* borrowed (the lowered machine outlives the call) */
    PyObject *taken; /* owned */
    PyObject *pending; /* owned */
} Item;

typedef struct {
    Item *items;
    Py_ssize_t n, cap;
    PyObject *seen; /* {(state address, taken, pending)} */
} Walk;

/* Push (state, taken, pending) unless that triple was pushed before. Borrows taken and pending. */
static int visit(Walk *w, PyObject *state, PyObject *taken, PyObject *pending) {
    PyObject *address = PyLong_FromVoidPtr(state);
    if (address == NULL) return -1;
    PyObject *key = PyTuple_Pack(3, address, taken, pending);
    Py_DECREF(address);
    if (key == NULL) return -1;
    int known = PySet_Contains(w->seen, key);
    if (known == 0) known = PySet_Add(w->seen, key);
    else if (known > 0) known = 1;
    Py_DECREF(key);
    if (known != 0) return known < 0 ? -1 : 0;
    if (w->n >= w->cap) {
        Py_ssize_t cap = w->cap * 2 + 32;
        Item *grown = PyMem_Realloc(w->items, cap * sizeof(Item));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        w->items = grown;
        w->cap = cap;
    }
    w->items[w->n].state = state;
    w->items[w->n].taken = Py_NewRef(taken);
    w->items[w->n].pending = Py_NewRef(pending);
    w->n++;
    return 0;
}

/* find_consistent(root, values, members): machine._find_consistent over the lowered states. */
static PyObject *find_consistent(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyTuple_Check(args[0]) || !PyDict_Check(args[1]) || !PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "find_consistent(lowered_root, values, members)");
        return NULL;
    }
    PyObject *values = args[1], *members = args[2];
    PyObject *found = PySet_New(NULL), *empty = PyTuple_New(0);
    Walk w = {NULL, 0, 0, PySet_New(NULL)};
    Stack buffer = {0};
    Item item = {NULL, NULL, NULL};
    if (found == NULL || empty == NULL || w.seen == NULL) goto error;
    w.items = PyMem_Malloc(32 * sizeof(Item));
    if (w.items == NULL) goto error;
    w.cap = 32;
    w.items[0].state = args[0];
    w.items[0].taken = Py_NewRef(empty);
    w.items[0].pending = Py_NewRef(empty);
    w.n = 1;
    while (w.n) {
        item = w.items[--w.n];
        PyObject *state = item.state, *taken = item.taken, *pending = item.pending;
        PyObject *rules = PyTuple_GET_ITEM(state, 0);
        if (rules != Py_None) {
            int known = PyObject_RichCompareBool(rules, found, Py_LE);
            if (known < 0) goto error;
            if (!known) {
                int holds = absences_hold(pending, taken, members);
                if (holds < 0) goto error;
                if (holds) {
                    PyObject *r = PyNumber_InPlaceOr(found, rules);
                    if (r == NULL) goto error;
                    Py_DECREF(r);
                }
            }
        }
        Py_ssize_t pos = 0;
        PyObject *path, *edge;
        while (PyDict_Next(PyTuple_GET_ITEM(state, 1), &pos, &path, &edge)) {
            PyObject *at = PyDict_GetItemWithError(values, path);
            if (at == NULL) {
                if (PyErr_Occurred()) goto error;
                continue;
            }
            PyObject *positions = PyDict_GetItemWithError(members, path);
            if (positions == NULL) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "members");
                goto error;
            }
            for (Py_ssize_t k = 0; k < PyList_GET_SIZE(at) && k < PyList_GET_SIZE(positions); k++) {
                PyObject *joined = merge(taken, PyList_GET_ITEM(positions, k));
                if (joined == NULL) goto error;
                if (joined == Py_None) {
                    Py_DECREF(joined);
                    continue;
                }
                PyObject *value = PyList_GET_ITEM(at, k);
                buffer.n = 0;
                int rc = edge_targets(edge, &value, 1, &buffer);
                for (Py_ssize_t c = 0; rc == 0 && c < buffer.n; c++) rc = visit(&w, buffer.items[c], joined, pending);
                Py_DECREF(joined);
                if (rc) goto error;
            }
        }
        PyObject *absent = PyTuple_GET_ITEM(state, 2);
        if (absent != Py_None) {
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(absent); i++) {
                PyObject *entry = PyTuple_GET_ITEM(absent, i);
                PyObject *where = PyTuple_GET_ITEM(entry, 0), *kids = PyTuple_GET_ITEM(entry, 1);
                PyObject *present = PyDict_GetItemWithError(members, where);
                PyObject *more;
                if (present == NULL && PyErr_Occurred()) goto error;
                if (present == NULL || PyList_GET_SIZE(present) == 0) {
                    more = Py_NewRef(pending);
                } else {
                    int all_in_arrays = 1; /* every value there sits in some array element: maybe avoidable */
                    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(present); k++)
                        if (PyTuple_GET_SIZE(PyList_GET_ITEM(present, k)) == 0) all_in_arrays = 0;
                    if (!all_in_arrays) continue;
                    Py_ssize_t size = PyTuple_GET_SIZE(pending);
                    more = PyTuple_New(size + 1);
                    if (more == NULL) goto error;
                    for (Py_ssize_t k = 0; k < size; k++)
                        PyTuple_SET_ITEM(more, k, Py_NewRef(PyTuple_GET_ITEM(pending, k)));
                    PyTuple_SET_ITEM(more, size, Py_NewRef(where));
                }
                int rc = 0;
                for (Py_ssize_t c = 0; rc == 0 && c < PyTuple_GET_SIZE(kids); c++)
                    rc = visit(&w, PyTuple_GET_ITEM(kids, c), taken, more);
                Py_DECREF(more);
                if (rc) goto error;
            }
        }
        Py_CLEAR(item.taken);
        Py_CLEAR(item.pending);
    }
    Py_DECREF(empty);
    Py_DECREF(w.seen);
    PyMem_Free(w.items);
    PyMem_Free(buffer.items);
    return found;
error:
    Py_XDECREF(item.taken);
    Py_XDECREF(item.pending);
    for (Py_ssize_t i = 0; i < w.n; i++) {
        Py_DECREF(w.items[i].taken);
        Py_DECREF(w.items[i].pending);
    }
    PyMem_Free(w.items);
    PyMem_Free(buffer.items);
    Py_XDECREF(w.seen);
    Py_XDECREF(empty);
    Py_XDECREF(found);
    return NULL;
}

static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *t, *f, *n, *num, *small;
    if (!PyArg_ParseTuple(args, "OOOO!O!", &t, &f, &n, &PyType_Type, &num, &PyDict_Type, &small)) return NULL;
    Py_INCREF(num);
    Py_XSETREF(NUM_TYPE, num);
    Py_INCREF(small);
    Py_XSETREF(SMALL_INTS, small);
    Py_INCREF(t);
    Py_XSETREF(TRUE_KEY, t);
    Py_INCREF(f);
    Py_XSETREF(FALSE_KEY, f);
    Py_INCREF(n);
    Py_XSETREF(NULL_KEY, n);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"find", (PyCFunction)(void (*)(void))find, METH_FASTCALL,
     "find(lowered_root, values) -> set of the names of every matching rule."},
    {"find_consistent", (PyCFunction)(void (*)(void))find_consistent, METH_FASTCALL,
     "find_consistent(lowered_root, values, members) -> set: the walk that keeps array positions apart."},
    {"configure", configure, METH_VARARGS, "configure(TRUE_KEY, FALSE_KEY, NULL_KEY, Num, SMALL_INTS): what values.py defines."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_native", "The matcher's hot loops in C (see eventpipes.patterns.native).", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&SchemaType) < 0) return NULL;
    KEY_NAME = PyUnicode_InternFromString("key");
    MICROS_NAME = PyUnicode_InternFromString("micros");
    TEXT_NAME = PyUnicode_InternFromString("text");
    TARGETS_NAME = PyUnicode_InternFromString("targets");
    LIT = PyUnicode_InternFromString("lit");
    if (KEY_NAME == NULL || MICROS_NAME == NULL || TEXT_NAME == NULL || TARGETS_NAME == NULL || LIT == NULL) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    Py_INCREF(&SchemaType);
    if (PyModule_AddObject(m, "Schema", (PyObject *)&SchemaType) < 0) {
        Py_DECREF(&SchemaType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
