/* Optional accelerator for eventpipes.pipes.sources.kafka.KafkaShaper: the same loop as
 * KafkaShaper._shape, in C, for records without headers (the common case). Anything else
 * (headers, a key or value that is not bytes, an offset or timestamp that is not an int)
 * goes to the Python callback `slow`, so this file holds no header or conversion logic.
 *
 * Why C: a no-op pipe's budget is ~2 us per record and the Python loop costs ~1.5 us
 * (dict display, two base64 encodings, the eventID, the size sum, the NamedTuple).
 * msgspec (Struct + to_builtins) was measured slower than the Python dict display here.
 * A property test holds this module's output equal to the Python loop's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Attribute names read from a message and the event's keys, interned once. */
static PyObject *a_offset, *a_timestamp, *a_timestamp_type, *a_key, *a_value, *a_headers;
static PyObject *k_source, *k_bootstrap, *k_source_key, *k_id, *k_topic, *k_partition, *k_offset,
    *k_timestamp, *k_timestamp_type, *k_key, *k_value, *k_headers;

/* Standard base64 with padding, as binascii.b2a_base64(data, newline=False).decode("ascii"). */
static PyObject *
b64_text(PyObject *bytes)
{
    const unsigned char *in = (const unsigned char *)PyBytes_AS_STRING(bytes);
    Py_ssize_t n = PyBytes_GET_SIZE(bytes);
    Py_ssize_t out_len = ((n + 2) / 3) * 4;
    PyObject *text = PyUnicode_New(out_len, 127);
    if (text == NULL)
        return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8) | in[i + 2];
        *out++ = B64[(v >> 18) & 63];
        *out++ = B64[(v >> 12) & 63];
        *out++ = B64[(v >> 6) & 63];
        *out++ = B64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        *out++ = B64[(v >> 18) & 63];
        *out++ = B64[(v >> 12) & 63];
        *out++ = (i + 1 < n) ? B64[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    return text;
}

/* len(str(value)) for an int; -1 with an error set if it is not one. */
static Py_ssize_t
int_text_length(PyObject *value)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow) {
        PyObject *text = PyObject_Str(value);
        if (text == NULL)
            return -1;
        Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        Py_DECREF(text);
        return length;
    }
    Py_ssize_t length = 1;
    unsigned long long u;
    if (v < 0) {
        length++;
        u = (unsigned long long)(-(v + 1)) + 1;
    } else {
        u = (unsigned long long)v;
    }
    while (u >= 10) {
        u /= 10;
        length++;
    }
    return length;
}

typedef struct {
    PyTypeObject *record_type;
    PyObject *source, *topic, *partition, *bootstrap, *source_key, *prefix, *types, *default_type;
    Py_ssize_t fixed, key_field, value_field;
} Shared;

/* What shape_one reads of one message. */
typedef struct {
    PyObject *offset, *timestamp, *type_code, *key, *value, *headers;
} Fields;

static void
release_fields(Fields *f)
{
    Py_CLEAR(f->offset);
    Py_CLEAR(f->timestamp);
    Py_CLEAR(f->type_code);
    Py_CLEAR(f->key);
    Py_CLEAR(f->value);
    Py_CLEAR(f->headers);
}

/* Reads the message's fields: 1 when this file can shape it, 0 when it needs the Python
 * path (headers, unusual types), -1 on error. The fields are released by the caller. */
static int
read_message(PyObject *message, Fields *f)
{
    if ((f->headers = PyObject_GetAttr(message, a_headers)) == NULL)
        return -1;
    int has_headers = PyObject_IsTrue(f->headers);
    if (has_headers < 0)
        return -1;
    if ((f->offset = PyObject_GetAttr(message, a_offset)) == NULL ||
        (f->timestamp = PyObject_GetAttr(message, a_timestamp)) == NULL ||
        (f->type_code = PyObject_GetAttr(message, a_timestamp_type)) == NULL ||
        (f->key = PyObject_GetAttr(message, a_key)) == NULL ||
        (f->value = PyObject_GetAttr(message, a_value)) == NULL)
        return -1;
    return !(has_headers || !PyLong_CheckExact(f->offset) || !PyLong_CheckExact(f->timestamp) ||
             (f->key != Py_None && !PyBytes_CheckExact(f->key)) ||
             (f->value != Py_None && !PyBytes_CheckExact(f->value)));
}

/* The timestampType text for a message (borrowed), NULL on error. */
static PyObject *
type_name_of(const Shared *s, PyObject *type_code)
{
    PyObject *type_name = PyDict_GetItemWithError(s->types, type_code); /* borrowed */
    if (type_name == NULL && !PyErr_Occurred())
        type_name = s->default_type;
    return type_name;
}

/* The payload size of a message this file can shape (see KafkaShaper), -1 on error. */
static Py_ssize_t
size_of(const Shared *s, const Fields *f, PyObject *type_name)
{
    Py_ssize_t digits = int_text_length(f->offset), timestamp_length = int_text_length(f->timestamp);
    if (digits < 0 || timestamp_length < 0)
        return -1;
    Py_ssize_t size = s->fixed + 2 * digits + timestamp_length + PyUnicode_GET_LENGTH(type_name);
    /* base64 with padding: four characters per three bytes or part of three */
    if (f->key != Py_None)
        size += ((PyBytes_GET_SIZE(f->key) + 2) / 3) * 4 + s->key_field;
    if (f->value != Py_None)
        size += ((PyBytes_GET_SIZE(f->value) + 2) / 3) * 4 + s->value_field;
    return size;
}

/* The record for one message, a new reference; Py_None (new reference) when the message
 * needs the Python path; NULL on error. */
static PyObject *
shape_one(const Shared *s, PyObject *message)
{
    Fields f = {NULL, NULL, NULL, NULL, NULL, NULL};
    PyObject *digits = NULL, *event_id = NULL, *event = NULL, *list = NULL, *text = NULL, *size_obj = NULL,
             *result = NULL;
    int readable = read_message(message, &f);
    if (readable < 0)
        goto done;
    if (readable == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *offset = f.offset, *timestamp = f.timestamp, *key = f.key, *value = f.value;
    PyObject *type_name = type_name_of(s, f.type_code);
    if (type_name == NULL)
        goto done;
    if ((digits = PyObject_Str(offset)) == NULL || (event_id = PyUnicode_Concat(s->prefix, digits)) == NULL)
        goto done;
    Py_ssize_t size = size_of(s, &f, type_name);
    if (size < 0)
        goto done;
    /* Presized: twelve keys into PyDict_New()'s eight slots would resize it twice. */
    if ((event = _PyDict_NewPresized(12)) == NULL ||
        PyDict_SetItem(event, k_source, s->source) < 0 ||
        PyDict_SetItem(event, k_bootstrap, s->bootstrap) < 0 ||
        PyDict_SetItem(event, k_source_key, s->source_key) < 0 ||
        PyDict_SetItem(event, k_id, event_id) < 0 ||
        PyDict_SetItem(event, k_topic, s->topic) < 0 ||
        PyDict_SetItem(event, k_partition, s->partition) < 0 ||
        PyDict_SetItem(event, k_offset, offset) < 0 ||
        PyDict_SetItem(event, k_timestamp, timestamp) < 0 ||
        PyDict_SetItem(event, k_timestamp_type, type_name) < 0)
        goto done;
    if (key != Py_None) {
        if ((text = b64_text(key)) == NULL || PyDict_SetItem(event, k_key, text) < 0)
            goto done;
        Py_CLEAR(text);
    }
    if (value != Py_None) {
        if ((text = b64_text(value)) == NULL || PyDict_SetItem(event, k_value, text) < 0)
            goto done;
        Py_CLEAR(text);
    }
    if ((list = PyList_New(0)) == NULL || PyDict_SetItem(event, k_headers, list) < 0)
        goto done;
    if ((size_obj = PyLong_FromSsize_t(size)) == NULL)
        goto done;
    /* A NamedTuple instance made as tuple.__new__ makes one of a subclass: alloc, then fill. */
    PyObject *record = s->record_type->tp_alloc(s->record_type, 11);
    if (record == NULL)
        goto done;
    PyObject *items[11] = {s->topic, s->partition, offset, timestamp, key, value, PyTuple_New(0),
                           event, event_id, size_obj, Py_None};
    if (items[6] == NULL) {
        Py_DECREF(record);
        goto done;
    }
    for (int i = 0; i < 11; i++) {
        if (i != 6)
            Py_INCREF(items[i]);
        PyTuple_SET_ITEM(record, i, items[i]); /* steals */
    }
    result = record;
done:
    release_fields(&f);
    Py_XDECREF(digits);
    Py_XDECREF(event_id);
    Py_XDECREF(event);
    Py_XDECREF(list);
    Py_XDECREF(text);
    Py_XDECREF(size_obj);
    return result;
}

PyDoc_STRVAR(shape_doc,
"shape(messages, record_type, slow, source, topic, partition, bootstrap, source_key, prefix, fixed,\n"
"      types, default_type, key_field, value_field) -> list\n\n"
"KafkaShaper._shape's loop: one record_type per message, slow(message) for those it leaves to Python.");

static PyObject *
shape(PyObject *module, PyObject *args)
{
    PyObject *messages, *record_type, *slow;
    Shared s;
    if (!PyArg_ParseTuple(args, "OOOUUO!UUUnO!Unn:shape", &messages, &record_type, &slow, &s.source, &s.topic,
                          &PyLong_Type, &s.partition, &s.bootstrap, &s.source_key, &s.prefix, &s.fixed,
                          &PyDict_Type, &s.types, &s.default_type, &s.key_field, &s.value_field))
        return NULL;
    if (!PyType_Check(record_type) || !PyType_IsSubtype((PyTypeObject *)record_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "record_type must be a tuple subclass of 11 fields");
        return NULL;
    }
    s.record_type = (PyTypeObject *)record_type;
    PyObject *it = PyObject_GetIter(messages);
    if (it == NULL)
        return NULL;
    PyObject *records = PyList_New(0);
    PyObject *message;
    while (records != NULL && (message = PyIter_Next(it)) != NULL) {
        PyObject *record = shape_one(&s, message);
        if (record == Py_None) {
            Py_DECREF(record);
            record = PyObject_CallOneArg(slow, message);
        }
        Py_DECREF(message);
        if (record == NULL || PyList_Append(records, record) < 0)
            Py_CLEAR(records);
        Py_XDECREF(record);
    }
    Py_DECREF(it);
    if (records != NULL && PyErr_Occurred())
        Py_CLEAR(records);
    return records;
}

static PyMethodDef methods[] = {
    {"shape", shape, METH_VARARGS, shape_doc},
    {NULL, NULL, 0, NULL},
};

static int
intern_all(void)
{
#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return -1
    INTERN(a_offset, "offset");
    INTERN(a_timestamp, "timestamp");
    INTERN(a_timestamp_type, "timestamp_type");
    INTERN(a_key, "key");
    INTERN(a_value, "value");
    INTERN(a_headers, "headers");
    INTERN(k_source, "eventSource");
    INTERN(k_bootstrap, "bootstrapServers");
    INTERN(k_source_key, "eventSourceKey");
    INTERN(k_id, "eventID");
    INTERN(k_topic, "topic");
    INTERN(k_partition, "partition");
    INTERN(k_offset, "offset");
    INTERN(k_timestamp, "timestamp");
    INTERN(k_timestamp_type, "timestampType");
    INTERN(k_key, "key");
    INTERN(k_value, "value");
    INTERN(k_headers, "headers");
#undef INTERN
    return 0;
}

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_kafka_shape",
    "C loop for KafkaShaper (optional; eventpipes.pipes.sources.kafka falls back to Python).", -1, methods,
};

PyMODINIT_FUNC
PyInit__kafka_shape(void)
{
    if (intern_all() < 0)
        return NULL;
    return PyModule_Create(&module_def);
}
