"""From an image file to vectors: loading images, finding subjects (detectors and alignment), embedding them
(embedders, networks, pretrained weights), and the cache of both. Imports only `whosthat.core`."""
