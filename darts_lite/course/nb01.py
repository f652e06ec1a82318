"""Notebook 01, the data (11K Hands): its findings and exercises (a subject-disjoint split, the majority class)."""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..core.stats import compare_samples
from ..data.hands11k import HandRecord
from .exercise import Exercise, close


def _leak(results: dict) -> dict:
    """The image-level against the subject-disjoint score: compare_samples over the seeds, or the means alone."""
    a, b = results.get("leakage_image_level_scores"), results.get("leakage_subject_disjoint_scores")
    if a and b:
        return {**compare_samples(a, b), "n": len(a)}
    diff = results["leakage_image_level"] - results["leakage_subject_disjoint"]
    return {"mean_a": results["leakage_image_level"], "mean_b": results["leakage_subject_disjoint"], "diff": diff}


def findings(results: dict) -> list[str]:
    lines = [f"HandInfo.csv lists {results['images_listed']:,} images of {results['subjects']} people."]
    if "ids_unstripped" in results:
        lines[0] += (f" Keeping one id's trailing space would count {results['ids_unstripped']} people, and that "
                     "person could sit on both sides of a split.")
    genders = results.get("gender_images")
    if genders:
        major = max(genders, key=genders.get)
        lines.append(f"Images of {major} hands are the majority: {genders[major] / sum(genders.values()):.0%} of "
                     "those listed.")
        if "test_majority_acc" in results:
            lines[-1] += (f" Always answering '{major}' scores plain accuracy {results['test_majority_acc']:.3f} on "
                          "the test split; its balanced accuracy is 0.5.")
    c = _leak(results)
    line = (f"A 1-NN scores balanced accuracy {c['mean_a']:.3f} on image-level splits and {c['mean_b']:.3f} on "
            f"subject-disjoint ones (difference {c['diff']:+.3f}")
    if "two_se" in c:
        line += f", 2 SE {c['two_se']:.3f}, n = {c['n']} seeds)."
        line += (" Identity leaks through an image-level split." if c["word"] == "beats" else
                 " The difference is within 2 SE: no leak shown at this size.")
    else:
        line += ")."
    lines.append(line)
    lines.append(f"Reading the resized images from the cache was {results['cache_speedup']:.0f}x faster than "
                 "decoding them.")
    found, listed = results["images_found"], results["images_listed"]
    lines.append(f"Data: {found:,} of the {listed:,} listed images on disk"
                 + (": small-sample numbers." if found < listed else "."))
    return lines


def headline(results: dict) -> str | None:
    """The README's line: the leakage of an image-level split."""
    c = _leak(results)
    if "word" in c and c["word"] != "beats":
        return None
    return (f"On hand images, an image-level split inflates a 1-NN's balanced accuracy for gender: {c['mean_a']:.3f} "
            f"against {c['mean_b']:.3f} when no person is on both sides.")


def _unanswered(value) -> str | None:
    if value is None or value is Ellipsis:
        return "no answer yet: your function returns nothing; write its body in place of the `...`."
    return None


def synthetic_records(people: int, seed: int) -> list[HandRecord]:
    """Fresh HandRecords: `people` people with 2 to 20 images each, in a shuffled order."""
    rng = np.random.default_rng(seed)
    records = []
    for p in range(people):
        gender = ("female", "male")[int(rng.random() < 0.4)]
        for _ in range(int(rng.integers(2, 21))):
            records.append(HandRecord(id=f"{p + 1:07d}", age=int(rng.integers(18, 76)), gender=gender,
                                      skin_color="medium", accessories=0, nail_polish=0,
                                      aspect=("dorsal", "palmar")[int(rng.integers(2))],
                                      side=("left", "right")[int(rng.integers(2))],
                                      image_name=f"Hand_{len(records):07d}.jpg", irregularities=0))
    return [records[i] for i in rng.permutation(len(records))]


def _split_by_person(answer) -> str | None:
    for trial, (people, share) in enumerate([(40, 0.25), (23, 0.5), (60, 0.2)]):
        records = synthetic_records(people, seed=100 + trial)
        tests = set()
        for seed in range(4):
            got = answer(records, share, seed)
            if reason := _unanswered(got):
                return reason
            train, test = ([int(i) for i in part] for part in got)
            if sorted(train + test) != list(range(len(records))):
                return ("train and test must together hold every index of `records` exactly once "
                        f"({len(records)} images); yours hold {len(train) + len(test)}, "
                        f"{len(set(train + test))} distinct.")
            shared = {records[i].subject for i in train} & {records[i].subject for i in test}
            if shared:
                return (f"{len(shared)} of {people} people have images on both sides (e.g. id {min(shared)}): "
                        "shuffle the people, not the images, and give each person's images to one side.")
            in_test = len({records[i].subject for i in test})
            if abs(in_test - share * people) > 1:
                return (f"with test_share={share} and {people} people, test should hold about {share * people:g} "
                        f"people; yours holds {in_test}.")
            tests.add(tuple(sorted(test)))
        if len(tests) == 1:
            return "every seed gave the same split: draw the people at random with the seed."
    return None


def _majority_accuracy(answer) -> str | None:
    rng = np.random.default_rng(11)
    for size, classes, p in [(50, ["female", "male"], [0.64, 0.36]), (37, [0, 1, 2], [0.2, 0.3, 0.5]),
                             (80, ["a", "b"], [0.5, 0.5]), (9, [3, 7], [0.1, 0.9])]:
        y = list(rng.choice(classes, size=size, p=p))
        if isinstance(classes[0], int):
            y = np.array(y)
        got = answer(y)
        if reason := _unanswered(got):
            return reason
        want = max(Counter(np.asarray(y).tolist()).values()) / len(y)
        if reason := close(got, want, what=f"majority_accuracy of {size} labels"):
            return reason + " Count each class; the majority class's count over the number of labels is the accuracy."
    return None


def _image_level_split(records, test_share, seed):
    """The plausible wrong answer: shuffle the images, not the people."""
    order = np.random.default_rng(seed).permutation(len(records)).tolist()
    cut = round(test_share * len(records))
    return sorted(order[cut:]), sorted(order[:cut])


q1 = Exercise(
    "q1", "Write `split_by_person(records, test_share, seed)` returning (train, test) index lists into `records`: "
    "no person on both sides, and about `test_share` of the people in test.",
    _split_by_person, "A person's hands share skin, rings and finger shapes: with no person on both sides, "
    "the test measures gender, not recognition of people seen in training.",
    wrong=_image_level_split,
    hint="Shuffle the sorted list of `r.subject` values with the seed, take the first round(test_share * people) "
         "as the test people, then send each image to the side of its person.",
    cpu_seconds=0.2)
q2 = Exercise(
    "q2", "Write `majority_accuracy(y)`: the plain accuracy of always answering the most common label of `y`.",
    _majority_accuracy, "Where one gender has most images, a constant answer already scores above 0.5 in plain "
    "accuracy. Balanced accuracy gives it 0.5, so the course reports balanced accuracy.",
    wrong=lambda y: 1 / len(set(np.asarray(y).tolist())),
    hint="collections.Counter(y).most_common(1) gives the largest class and its count.", cpu_seconds=0.1)
exercises = [q1, q2]

__all__ = ["exercises", "findings", "headline", "q1", "q2", "synthetic_records"]
