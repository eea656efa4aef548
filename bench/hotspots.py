"""`python -m bench.hotspots FILE [REGEX]`: sum a py-spy raw profile (collapsed stacks).

Prints the functions with the most samples on their own (self) and, filtered by REGEX, the
most samples anywhere in their stack (inclusive), in percent of all samples.
"""

from __future__ import annotations

import collections
import re
import sys


def _name(frame: str) -> str:
    frame = re.sub(r"\s*\(/[^)]*site-packages/", " (", frame)
    frame = re.sub(r"\s*\(/[^)]*/src/", " (", frame)
    return re.sub(r":\d+\)", ")", frame)


def main() -> None:
    path, pattern = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as lines:
        for line in lines:
            if not line.strip():
                continue
            stack, count = line.rstrip().rsplit(" ", 1)
            samples = int(count)
            total += samples
            frames = [_name(frame) for frame in stack.split(";")]
            own[frames[-1]] += samples
            for frame in set(frames):
                inclusive[frame] += samples
    print(f"{total} samples\n-- self")
    for frame, samples in own.most_common(30):
        print(f"{100 * samples / total:5.1f}% {frame}")
    print("-- inclusive")
    shown = 0
    for frame, samples in inclusive.most_common():
        if pattern and not re.search(pattern, frame):
            continue
        print(f"{100 * samples / total:5.1f}% {frame}")
        shown += 1
        if shown >= 80:
            break


if __name__ == "__main__":
    main()
