"""The CelebAMask-HQ class table: names, colours and left/right pairs, in label-id order.

A leaf module (it imports nothing), so the dataset, the converter, the synthetic generator, the
transforms and the tools all read the one table. Ids follow face-parsing.PyTorch, so its public
checkpoints stay usable. ``l_*`` classes are the person's left (on the image's right).
"""

CLASSES = ('background', 'skin', 'l_brow', 'r_brow', 'l_eye', 'r_eye', 'eye_g', 'l_ear',
           'r_ear', 'ear_r', 'nose', 'mouth', 'u_lip', 'l_lip', 'neck', 'neck_l', 'cloth',
           'hair', 'hat')
#: the release's per-part file suffixes, in id order 1..18 (a later part overwrites an earlier one)
PART_NAMES = CLASSES[1:]
#: (left, right) label pairs that a horizontal flip exchanges: brows, eyes, ears
FLIP_PAIRS = ((2, 3), (4, 5), (7, 8))
#: one colour (RGB) per class; neighbouring parts (and each left/right pair) get distinct colours
PALETTE = [[0, 0, 0], [255, 204, 153], [102, 51, 0], [178, 102, 51], [0, 102, 255],
           [0, 204, 255], [255, 255, 0], [204, 0, 102], [255, 102, 178], [255, 0, 0],
           [255, 153, 0], [102, 0, 51], [255, 51, 102], [204, 0, 51], [153, 102, 153],
           [0, 255, 153], [0, 153, 76], [128, 0, 128], [0, 255, 255]]
#: class name -> label id
CLASS_ID = {name: i for i, name in enumerate(CLASSES)}

#: the dataset's ``METAINFO``
CELEBAMASK_HQ = dict(classes=CLASSES, palette=PALETTE, flip_pairs=FLIP_PAIRS)
