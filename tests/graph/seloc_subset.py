#!/usr/bin/python3
"""Write the SeLoC-ML subset that mote and rdflib both query (test_graph_seloc.sh).

usage: seloc_subset.py SELOC_DIR OUT_DIR

rdflib 6.1 needs minutes for SeLoC-ML queries 1, 3, 4 and 6 on the whole
instance graph, so the cross-check runs on a fixed part of it, chosen so
that every query still has rows:

* devices: the whole files arduino_nano_ble_33_td.ttl (accelerometer and
  gyroscope, query 1) and ssi_web_td_1.ttl (a SIEMENS device, query 6);
* models: from tflite_models.ttl, the triples whose subject IRI contains
  one of the MODELS identifiers below (a model and its parts: metrics,
  layers, conditions, input, output and sensor nodes all carry the
  model's UUID): the two person detectors of query 2, two of the four
  yes/no keyword spotters of query 3, and one model no query selects
  (rdflib's time grows quickly with the number of models: 8 took 11 s
  on query 3 alone).

The schema (semantic_schema/) is loaded whole beside it. mote also runs
every query on the full graph, alone.
"""
import os
import sys

import rdflib

DEVICES = ("arduino_nano_ble_33_td.ttl", "ssi_web_td_1.ttl")
MODELS = (
    "49aaf170-00e7-4b2d-be8e-5676de60e69a",  # query 2
    "2c4fa5a4-6211-4bb5-bb95-772368ebb4c9",  # query 2
    "3550f5d1-d643-44fd-8207-8037657a73ad",  # query 3
    "db2863fc-5c0e-46bf-b14e-c17cd898d6ef",  # query 3
    "0e10106d-e0c6-4e4f-a6af-84aaa086e36a",  # none
)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src = os.path.join(sys.argv[1], "semantic_description")
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in DEVICES:
        with open(os.path.join(src, name), "rb") as f, open(os.path.join(out, name), "wb") as g:
            g.write(f.read())
    models = rdflib.Graph()
    models.parse(os.path.join(src, "tflite_models.ttl"), format="turtle")
    keep = rdflib.Graph()
    for s, p, o in models:
        if isinstance(s, rdflib.URIRef) and any(uuid in str(s) for uuid in MODELS):
            keep.add((s, p, o))
    if not keep:
        sys.exit("seloc_subset: no model triples selected")
    keep.serialize(os.path.join(out, "models_subset.ttl"), format="turtle")
    print(f"{len(keep)} model triples of {len(models)}")


if __name__ == "__main__":
    main()
