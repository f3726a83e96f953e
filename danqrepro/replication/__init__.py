"""The replication's own layer, above the toolkit: the presets, the runs behind each
chapter, the study's tables, statistics and claims, the book's prose helpers, plots,
performance tables, the book runner and ``chapter.setup()``. The toolkit
(``danqrepro.*`` outside this package) never imports it."""
