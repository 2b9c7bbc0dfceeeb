#!/usr/bin/python3
"""Compare mote's SPARQL results with rdflib's on the same data (the oracle).

usage: oracle.py RESULTS.json QUERY.rq DATA...   (DATA: .ttl files or directories of them)

RESULTS.json is mote's application/sparql-results+json output. Both result
sets are compared as multisets of rows. Terms are compared by kind and
value; numeric literals by numeric value (engines may print 3.36e+05 and
336000.0 for the same double); blank nodes only as "a blank node" (labels
are engine-local). Values of GROUP_CONCAT columns, whose order SPARQL
leaves to the engine, are compared as sorted lists of their space-separated
items when --concat VAR is given. Exit 0 when equal, 1 with a diff otherwise.
"""
import collections
import json
import os
import sys

import rdflib
import rdflib.plugins.sparql.algebra as algebra
from rdflib.namespace import XSD

# rdflib 6.1 reorders the triple patterns of a group by its own estimate,
# which on the SeLoC-ML queries produced joins that ran for many minutes.
# A basic graph pattern is a set: evaluating it in the order written gives
# the same solutions (and is what Rasqal does), so keep the written order.
algebra.reorderTriples = lambda triples: list(triples)

NUMERIC = {str(XSD[t]) for t in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                                 "nonNegativeInteger", "positiveInteger", "negativeInteger",
                                 "nonPositiveInteger", "unsignedInt", "unsignedLong")}


def norm(kind, value, lang=None, dtype=None):
    if kind == "uri":
        return ("uri", value)
    if kind == "bnode":
        return ("bnode",)
    if dtype in NUMERIC:
        try:
            return ("num", float(value))
        except ValueError:
            pass
    if dtype == str(XSD.string):
        dtype = None
    return ("lit", value, (lang or "").lower() or None, dtype)


def from_rdflib(term):
    if term is None:
        return None
    if isinstance(term, rdflib.URIRef):
        return norm("uri", str(term))
    if isinstance(term, rdflib.BNode):
        return norm("bnode", str(term))
    return norm("lit", str(term), term.language, str(term.datatype) if term.datatype else None)


def from_json(b):
    if b is None:
        return None
    t = b["type"]
    if t == "uri":
        return norm("uri", b["value"])
    if t == "bnode":
        return norm("bnode", b["value"])
    return norm("lit", b["value"], b.get("xml:lang"), b.get("datatype"))


def concat_sorted(term):
    if term is None or term[0] != "lit":
        return term
    return ("lit", " ".join(sorted(term[1].split())), term[2], term[3])


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for n in sorted(os.listdir(p)):
                if n.endswith(".ttl"):
                    yield os.path.join(p, n)
        else:
            yield p


def main(argv):
    concat = set()
    while len(argv) > 1 and argv[1] == "--concat":
        concat.add(argv[2])
        argv = argv[:1] + argv[3:]
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mote = json.load(open(argv[1]))
    g = rdflib.Graph()
    for f in files(argv[3:]):
        g.parse(f, format="turtle", publicID="file://" + f)
    res = g.query(open(argv[2]).read())
    if res.type == "ASK":
        ok = bool(res.askAnswer) == bool(mote.get("boolean"))
        print(f"ask: mote {mote.get('boolean')}, rdflib {res.askAnswer}")
        return 0 if ok else 1
    vars_ = [str(v) for v in res.vars]
    if not mote["head"]["vars"] and not mote["results"]["bindings"]:
        # Rasqal writes no variable list for an empty grouped result
        mote["head"]["vars"] = vars_
    if vars_ != list(mote["head"]["vars"]):
        print(f"variables differ: mote {mote['head']['vars']}, rdflib {vars_}")
        return 1

    def fix(v, t):
        return concat_sorted(t) if v in concat else t

    want = collections.Counter(tuple(fix(v, from_rdflib(row[i])) for i, v in enumerate(vars_)) for row in res)
    got = collections.Counter(tuple(fix(v, from_json(b.get(v))) for v in vars_) for b in mote["results"]["bindings"])
    print(f"{os.path.basename(argv[2])}: mote {sum(got.values())} rows, rdflib {sum(want.values())} rows")
    if got == want:
        return 0
    for row in (got - want):
        print("  only mote:  ", row)
    for row in (want - got):
        print("  only rdflib:", row)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
