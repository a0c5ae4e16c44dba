# oncotwin in a container, installed exactly as the README does (make install = venv + pip install -e .[test]).
#   docker build -t oncotwin .
#   docker run --rm -v "$PWD:/case" oncotwin mpirun -n 4 oncotwin run /case/case.yaml
#   PREDICT-GBM entrypoint (README): docker run --rm -v IN:/mlcube_io0 -v OUT:/mlcube_io1 oncotwin predict-gbm
FROM python:3.12-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends make gcc g++ libc6-dev libgl1 libxrender1 libxcursor1 \
      libxft2 libxinerama1 libglu1-mesa \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/oncotwin
COPY pyproject.toml Makefile README.md ./
COPY src ./src
COPY cases ./cases
COPY meshes/README.md ./meshes/README.md
RUN make install PYTHON=python3.12 \
 && .venv/bin/python -c "import oncotwin.core.fenics" \
 && .venv/bin/oncotwin version

# FFCx compiles forms with the system C compiler at run time; keep its cache writable.
ENV PATH="/opt/oncotwin/.venv/bin:${PATH}" \
    XDG_CACHE_HOME=/tmp/cache
WORKDIR /case
# `docker run IMAGE run case.yaml` runs `oncotwin run case.yaml`; `docker run IMAGE mpirun -n 4 oncotwin ...`
# runs the given command as it is; `docker run IMAGE predict-gbm` reads /mlcube_io0 and writes /mlcube_io1.
ENTRYPOINT ["/bin/sh", "-c", "case \"$1\" in mpirun|mpiexec|oncotwin|python*|sh|bash) exec \"$@\";; *) exec oncotwin \"$@\";; esac", "--"]
CMD ["--help"]
