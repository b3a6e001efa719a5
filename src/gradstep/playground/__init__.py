"""The playground: ``gradstep playground`` serves a page where a small network
learns a 2-D data set live, on gradstep's own engine (the ``playground``
extra: ``pip install "gradstep[playground]"``)."""
