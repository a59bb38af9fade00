"""The LaPa class table: names, colours and left/right pairs, in label-id order.

LaPa (Liu et al., "A New Dataset and Boundary-Attention Semantic Segmentation for Face Parsing",
AAAI 2020) labels 0..10: background, skin, left eyebrow, right eyebrow, left eye, right eye,
nose, upper lip, inner mouth, lower lip, hair; left is the person's left (on the image's right),
as in CelebAMask-HQ. A leaf module (it imports nothing), like
:mod:`faceparse_mm.datasets.class_table`: the dataset, the synthetic generator and the tests read
this one table.

Names are CelebAMask-HQ's where the part is the same (``l_brow``, ``u_lip``, ``mouth`` for the
inner mouth, ``l_lip`` for the lower lip), so per-class columns of the two benchmarks line up in
the results files; colours are CelebAMask-HQ's colours of those names.
"""

LAPA_CLASSES = ('background', 'skin', 'l_brow', 'r_brow', 'l_eye', 'r_eye', 'nose', 'u_lip',
                'mouth', 'l_lip', 'hair')
#: (left, right) label pairs that a horizontal flip exchanges: brows, eyes
LAPA_FLIP_PAIRS = ((2, 3), (4, 5))
#: one colour (RGB) per class: CelebAMask-HQ's colour of the same name
LAPA_PALETTE = [[0, 0, 0], [255, 204, 153], [102, 51, 0], [178, 102, 51], [0, 102, 255],
                [0, 204, 255], [255, 153, 0], [255, 51, 102], [102, 0, 51], [204, 0, 51],
                [128, 0, 128]]
#: class name -> label id
LAPA_CLASS_ID = {name: i for i, name in enumerate(LAPA_CLASSES)}

#: the dataset's ``METAINFO``
LAPA = dict(classes=LAPA_CLASSES, palette=LAPA_PALETTE, flip_pairs=LAPA_FLIP_PAIRS)

#: what each CelebAMask-HQ part becomes in LaPa's classes (the synthetic generator's
#: ``--layout lapa``). LaPa has no glasses, ears, earrings, neck, necklace, cloth or hat:
#:
#: - ``eye_g`` is ``None``: glasses are see-through, so they are left out and their pixels get the
#:   part beneath them (eyes through the lenses, skin or brows under the frame);
#: - ears become ``skin`` (LaPa's skin class covers the ears);
#: - the opaque accessories and everything below the face (earring, neck, necklace, cloth, hat)
#:   become ``background``; a hat keeps hiding the hair it covers;
#: - the mouth between the lips is LaPa's inner mouth (``mouth``).
CELEBAMASK_TO_LAPA = {
    'background': 'background', 'skin': 'skin', 'l_brow': 'l_brow', 'r_brow': 'r_brow',
    'l_eye': 'l_eye', 'r_eye': 'r_eye', 'eye_g': None, 'l_ear': 'skin', 'r_ear': 'skin',
    'ear_r': 'background', 'nose': 'nose', 'mouth': 'mouth', 'u_lip': 'u_lip', 'l_lip': 'l_lip',
    'neck': 'background', 'neck_l': 'background', 'cloth': 'background', 'hair': 'hair',
    'hat': 'background',
}
