"""The application layer: the ``jepatheory demo`` driver and its sections, and the payloads
the command line prints. It imports the library; the library never imports it.

* :mod:`.demo` the demo driver (:class:`~.demo.DemoContext`, :data:`~.demo.SECTIONS`)
* :mod:`.spectrum`, :mod:`.bounds`, :mod:`.sim`, :mod:`.convex`, :mod:`.symbolic` the demo
  sections (``demo_section(ctx)``) of each library layer, and the spectrum payload.
"""
