"""The image catalog: a YAML list of images glint keeps current on every cloud.

Stage 1 of issue 12: the catalog's own parts, self-contained, for the plan/apply commands,
the engine and the UI to wire in. Read ``docs/catalog.md`` first (names, properties,
rotation, retirement rules). The parts, in the order a run uses them:

* ``loader`` (+ ``yamlsafe``, ``entries``, ``columns``): the file -> validated ``Catalog``;
* ``upstream`` (+ ``checksums``, ``versions``, ``web``): an entry -> its upstream versions;
* ``planner`` (+ ``survey``, ``placement``, ``retire``, ``naming``, ``steps``): catalog +
  versions + matrix -> ``CatalogPlan`` (uploads, shares, renames, retirements, refusals);
* ``fetch`` and ``convert`` (+ ``partial``): bytes into the spool, verified, and converted
  with ``qemu-img`` once per target format.
"""
