"""Epoch and threshold selection for train_crops.py (numpy only, no torch).

--select crops (the default, D120/D130): the epoch with the best argmax accuracy on the val crops (ties:
lower val loss, D131); then the rule "no_mask when p(no_mask) >= t" with the largest t <= 0.5 whose
unmasked recall on the val crops is >= --recall.

--select crops+images (D140): the one rule in the manifest serves both modes, faces mode (the detector's
crops) and classify mode (the whole frame is the face), so each epoch is judged as it would ship in both:
  1. its rule: the largest t <= 0.5 (0.005 steps) whose unmasked recall is >= --recall on the val crops
     AND >= the base model's own unmasked recall on the val images whole (the base at its rule,
     --base-threshold): the candidate may not miss more unmasked whole faces than the model it replaces;
     lowering t to get there costs masked faces, which step 2 counts;
  2. its score: the mean of its accuracy on the val crops and on the val images whole, both at that rule
     (the two modes weigh the same, whatever the number of crops per image);
  3. the best score wins; a tie (both rounded to 5 digits, D131) goes to the lower mean of the two val
     losses.
Nothing here looks at the demo clip: its 40 faces are val images, scored like the other 557.
"""
import numpy as np

STEPS = np.arange(0.5, 0.0, -0.005)


def recall_at(p_no_mask, y, t):
    pos = p_no_mask[y == 1]
    return float((pos >= t).mean()) if len(pos) else 1.0


def choose_threshold(p_no_mask, y, recall):
    """Largest t <= 0.5 (0.005 steps) whose no_mask recall on (p, y) is >= recall."""
    return choose_threshold_joint([(p_no_mask, y, recall)])


def choose_threshold_joint(sets):
    """Largest t <= 0.5 (0.005 steps) whose no_mask recall is >= its target on every (p, y, target) set."""
    for t in STEPS:
        if all(recall_at(p, y, t) >= r for p, y, r in sets):
            return round(float(t), 3)
    return 0.005


def accuracy_at(p_no_mask, y, t):
    return float(((p_no_mask >= t).astype(int) == y).mean())


def judge_epoch(p_crops, y_crops, loss_crops, p_images, y_images, loss_images, recall, images_recall):
    """The epoch as it would ship (crops+images): its rule, both accuracies there, the score and tie key."""
    t = choose_threshold_joint([(p_crops, y_crops, recall), (p_images, y_images, images_recall)])
    ac, ai = accuracy_at(p_crops, y_crops, t), accuracy_at(p_images, y_images, t)
    return {"threshold": t, "crops": round(ac, 5), "images": round(ai, 5),
            "imagesNoMaskRecall": round(recall_at(p_images, y_images, t), 5),
            "score": round((ac + ai) / 2, 5), "loss": round((loss_crops + loss_images) / 2, 5)}


def better(key, best_key):
    """D131's rule: key = (value, loss), both rounded alike; a higher value wins, a tie goes to the lower loss."""
    return best_key is None or (key[0], -key[1]) > (best_key[0], -best_key[1])
