"""Dinucleotide-preserving shuffles: the negatives DeepBind and deepRAM trained against.

:func:`dinucleotide_shuffle` is the Altschul-Erickson shuffle (Altschul and Erickson 1985,
Mol. Biol. Evol. 2:526; the algorithm of uShuffle, Jiang et al. 2008, at k = 2): the
sequence is an Eulerian walk through the graph whose vertices are its letters and whose
edges are its dinucleotides; a random walk through the same edges, drawn uniformly among
all such walks that start and end where the sequence does, is a shuffle with exactly the
sequence's dinucleotide counts (and hence mononucleotide counts, first and last letters).
The last edge out of each vertex is drawn first, as a random arborescence towards the
final letter (Wilson's algorithm on the reversed graph, conditioned on the edges present);
the other edges leave in a random order.
"""

from __future__ import annotations

import numpy as np


def dinucleotide_shuffle(sequence: str, rng: np.random.Generator) -> str:
    """A random sequence with exactly the dinucleotide counts of ``sequence``, starting and
    ending with its letters (any alphabet; N is one more letter). Sequences under 3 letters
    come back unchanged."""
    if len(sequence) < 3:
        return sequence
    edges: dict[str, list[str]] = {}
    for a, b in zip(sequence, sequence[1:]):
        edges.setdefault(a, []).append(b)
    last_letter = sequence[-1]
    last_edge = _last_edges(edges, last_letter, rng)
    order: dict[str, list[str]] = {}
    for vertex, targets in edges.items():
        rest = list(targets)
        if vertex in last_edge:
            rest.remove(last_edge[vertex])
        rng.shuffle(rest)
        order[vertex] = rest + ([last_edge[vertex]] if vertex in last_edge else [])
    position = {vertex: 0 for vertex in order}
    out, vertex = [sequence[0]], sequence[0]
    for _ in range(len(sequence) - 1):
        nxt = order[vertex][position[vertex]]
        position[vertex] += 1
        out.append(nxt)
        vertex = nxt
    return "".join(out)


def _last_edges(edges: dict[str, list[str]], root: str, rng: np.random.Generator) -> dict[str, str]:
    """For every vertex but ``root`` with out-edges, the target of its last edge: a uniformly
    random arborescence towards ``root`` (Wilson's loop-erased random walks, each step
    choosing one of the vertex's out-edges with its multiplicity)."""
    in_tree = {root}
    last: dict[str, str] = {}
    for start in edges:
        vertex = start
        while vertex not in in_tree:  # walk until the tree, keeping the last exit of each vertex
            targets = edges[vertex]
            last[vertex] = targets[rng.integers(len(targets))]
            vertex = last[vertex]
        vertex = start
        while vertex not in in_tree:  # the loop-erased path joins the tree
            in_tree.add(vertex)
            vertex = last[vertex]
    return {v: t for v, t in last.items() if v in in_tree and v != root}
