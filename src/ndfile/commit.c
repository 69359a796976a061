/* commit.c — ndfile flush and compaction: a layer is written under its final name through the
 * store's atomic conditional publication, synced, and only then installed; compaction removes
 * old layers only after the merged base is durable (docs/spec/ndfile.md §2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndfile/file_int.h"

/* ---- flush / compact ---- */
typedef struct lw {
  qv_nd_file *f;
  qv_nd_store_writer *w;
  uint64_t off;
  uint8_t *scratch;
  size_t scap;
} lw;

static qv_status lw_append(lw *l, const void *p, size_t n, qv_error *err) {
  QV_TRY(l->f->store->writer_append(l->w, p, n, err));
  l->off += n;
  return QV_OK;
}

static qv_status lw_scratch(lw *l, size_t n, qv_error *err) {
  if (n <= l->scap) return QV_OK;
  if (l->scratch) qv__nd_raw_free(l->f->alloc, l->scratch, l->scap);
  l->scratch = qv__nd_raw_alloc(l->f->alloc, n);
  l->scap = l->scratch ? n : 0;
  return l->scratch ? QV_OK : qv__nomem(err, "encode buffer", n);
}

/* Encodes and appends a pending chunk; fills its index entry. A spilled block is already in
 * place when the layer continues the spill writer (`in_spill`), else it is read back (checked)
 * from the spill writer and appended. */
static qv_status put_pchunk(lw *l, const nd_meta *m, const nd_pchunk *pc, nd_chunk_ent *ce,
                            bool in_spill, qv_error *err) {
  if (pc->spilled && in_spill) {
    *ce = pc->ent;
    return QV_OK;
  }
  if (pc->spilled) {
    QV_TRY(lw_scratch(l, (size_t)pc->ent.stored_len, err));
    QV_TRY(qv__nd_spill_read(l->f, m, pc, l->scratch, true, err));
    *ce = pc->ent;
    ce->offset = l->off;
    return lw_append(l, l->scratch, (size_t)pc->ent.stored_len, err);
  }
  if (pc->enc) {
    *ce = pc->ent;
    ce->offset = l->off;
    return lw_append(l, pc->raw, pc->len, err);
  }
  uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK];
  uint64_t ne = qv__nd_chunk_extent(m, pc->chunk, org, ext);
  memset(ce, 0, sizeof *ce);
  ce->chunk = pc->chunk;
  ce->offset = l->off;
  qv__nd_chunk_stats(m, pc->raw, pc->len, ne, ce);
  unsigned sl = qv__nd_seg_for(l->f->seg_log2, pc->len);
  size_t bound = qv__nd_block_bound(m->codec, sl, pc->len, err);
  if (!bound) return err ? err->code : QV_E_INVALID;
  if (m->codec != QV_ND_CODEC_NONE) QV_TRY(lw_scratch(l, bound, err));
  const uint8_t *blk;
  QV_TRY(qv__nd_block_encode(m->codec, m->level, sl, pc->raw, pc->len, l->scratch, l->scap, ce, &blk, err));
  return lw_append(l, blk, (size_t)ce->stored_len, err);
}

/* Writes the pending changes (or, with base, the merged state) as layer `seq`, publishes it
 * with a conditional create, syncs it, and installs it in the handle. */
qv_status qv__nd_publish(qv_nd_file *f, uint64_t seq, bool base, qv_error *err) {
  char name[4200];
  qv__nd_layer_name(name, sizeof name, f->path, seq);
  lw l = {f, NULL, 0, NULL, 0};
  qv_mbuffer foot;
  qv_mbuffer_init(&foot, f->alloc);
  nd_arena tmp;
  qv__nd_arena_init(&tmp, f->alloc);
  /* Whole chunks written since the last flush may already sit in the spill writer of this
   * layer: continue it when it holds exactly the blocks still referenced (spec §2a); else
   * (blocks overwritten since, or an append failed) write the layer afresh, copying those
   * blocks over. */
  bool in_spill = !base && f->spill && !f->spill_broken && f->spill_seq == seq &&
                  qv__nd_spill_dead(f) == 0;
  qv_status s = QV_OK;
  if (in_spill) {
    l.w = f->spill;
    l.off = f->spill_off;
  } else {
    s = f->store->writer_open(f->store, name, &l.w, err);
    if (s < 0) goto out;
    /* page-aligned blocks when the layer will be large (spec §3): pending changes, or for a
     * compacted base the layers it merges, of ND_ALIGN_MIN bytes or more */
    uint64_t expect = (uint64_t)f->pending_bytes + f->spill_live;
    for (size_t i = 0; base && i < f->n_layers; i++) expect += f->layers[i].size;
    uint8_t hd[ND_DATA_ALIGN];
    size_t hl = qv__nd_header(hd, expect >= ND_ALIGN_MIN);
    QV_TRY_GOTO(s, lw_append(&l, hd, hl, err), out);
  }
  size_t n_ent = base ? f->n_view : f->n_pend;
  nd_entry *ents = n_ent ? qv__nd_arena_alloc(&tmp, n_ent * sizeof *ents) : NULL;
  if (n_ent && !ents) {
    s = qv__nomem(err, "layer entries", n_ent * sizeof *ents);
    goto out;
  }
  for (size_t i = 0; i < n_ent; i++) {
    nd_entry *e = &ents[i];
    if (!base) {
      nd_pend *p = f->pend[i];
      e->kind = p->kind;
      e->meta = p->meta;
      e->n_chunks = p->n;
      e->chunks = p->n ? qv__nd_arena_alloc(&tmp, p->n * sizeof(nd_chunk_ent)) : NULL;
      if (p->n && !e->chunks) {
        s = qv__nomem(err, "chunk index", p->n * sizeof(nd_chunk_ent));
        goto out;
      }
      for (size_t c = 0; c < p->n; c++)
        QV_TRY_GOTO(s, put_pchunk(&l, &p->meta, &p->chunks[c], &e->chunks[c], in_spill, err), out);
    } else {
      nd_varr *v = &f->view[i];
      nd_res r = {v->meta, NULL, v->chain, v->n_chain};
      eff *ef = NULL;
      size_t ne = 0;
      QV_TRY_GOTO(s, qv__nd_effective(f, &r, &ef, &ne, err), out);
      e->kind = ND_KIND_DEFINE;
      e->meta = *v->meta;
      e->n_chunks = ne;
      e->chunks = ne ? qv__nd_arena_alloc(&tmp, ne * sizeof(nd_chunk_ent)) : NULL;
      if (ne && !e->chunks) s = qv__nomem(err, "chunk index", ne * sizeof(nd_chunk_ent));
      for (size_t c = 0; c < ne && s == QV_OK; c++) {
        const nd_layer *L = v->chain[ef[c].link].layer;
        const nd_chunk_ent *src = &v->chain[ef[c].link].entry->chunks[ef[c].idx];
        /* the block as stored: from the layer's mapping, else read into the scratch buffer */
        const uint8_t *blk = L->map ? L->map + src->offset : NULL;
        if (!blk) {
          s = lw_scratch(&l, (size_t)src->stored_len, err);
          if (s == QV_OK) s = f->store->read_at(f->store, L->path, src->offset, l.scratch, (size_t)src->stored_len, err);
          blk = l.scratch;
        }
        uint64_t hash = 0;
        bool read_ok = s == QV_OK;
        if (s == QV_OK) s = qv__nd_block_hash(src, blk, &hash, err);
        if (s == QV_OK && hash != src->hash)
          s = qv_error_set(err, QV_E_CORRUPT, "checksum mismatch");
        if (s < 0 && read_ok) {
          char cs[200];
          qv__nd_coord_str(v->meta, src->chunk, cs, sizeof cs);
          qv_error_prefix(err, "layer %llu block of '%s' chunk %s: ", (unsigned long long)L->seq, v->name, cs);
        }
        if (s == QV_OK) {
          e->chunks[c] = *src;
          e->chunks[c].offset = l.off;
          s = lw_append(&l, blk, (size_t)src->stored_len, err);
        }
      }
      qv__nd_eff_free(f, ef, &r);
      if (s < 0) goto out;
    }
  }
  uint8_t t16[16];
  qv__store_u64le(t16, seq);
  qv__store_u32le(t16 + 8, base ? ND_FLAG_BASE : 0);
  qv__store_u32le(t16 + 12, (uint32_t)n_ent);
  QV_TRY_GOTO(s, qv_mbuffer_append(&foot, t16, 16, err), out);
  for (size_t i = 0; i < n_ent; i++) QV_TRY_GOTO(s, qv__nd_put_entry(&foot, &ents[i], err), out);
  uint8_t tr[ND_TRAILER_LEN];
  qv__nd_trailer(tr, foot.len, qv__nd_hash(foot.data, foot.len));
  QV_TRY_GOTO(s, lw_append(&l, foot.data, foot.len, err), out);
  QV_TRY_GOTO(s, lw_append(&l, tr, sizeof tr, err), out);
  if (f->spill_live) { /* commit frees the writer even when it fails: spilled blocks would go
                          with it, so look for a competing layer first and keep them if so */
    uint64_t osz;
    if (f->store->size(f->store, name, &osz, NULL) == QV_OK) {
      s = QV_E_EXISTS;
      goto exists;
    }
  }
  s = f->store->writer_commit(l.w, QV_ND_PUT_IF_ABSENT, err);
  if (l.w == f->spill) f->spill = NULL; /* freed by the commit */
  l.w = NULL;
  if (s < 0 && f->spill_live) f->poisoned = true; /* the spilled blocks went with the writer */
exists:
  if (s == QV_E_EXISTS)
    s = qv_error_set(err, QV_E_CONFLICT,
                     "'%s': layer %llu was published by another writer first; reopen the file to see it",
                     f->path, (unsigned long long)seq);
  if (s < 0 && f->poisoned)
    qv_error_prefix(err, "this handle's unflushed changes were lost with the failed publication: ");
  if (s < 0) goto out;
  if (s < 0) goto out;
  /* Published. From here a failure leaves the store ahead of this handle: poison it. */
  s = f->store->sync(f->store, name, err);
  nd_layer nl;
  if (s == QV_OK) s = qv__nd_layer_load(f->store, f->path, seq, &f->opts.limits, f->alloc, &nl, err);
  if (s < 0) {
    f->poisoned = true;
    goto out;
  }
  {
    size_t keep = base ? 0 : f->n_layers;
    nd_layer *nls = qv_mem_alloc(f->alloc, (keep + 1) * sizeof *nls, 0);
    if (!nls) {
      qv__nd_layer_free(&nl);
      f->poisoned = true;
      s = qv__nomem(err, "layers", (keep + 1) * sizeof *nls);
      goto out;
    }
    nls[0] = nl;
    if (keep) memcpy(nls + 1, f->layers, keep * sizeof *nls);
    if (base) {
      for (size_t i = 0; i < f->n_layers; i++) qv__nd_layer_free(&f->layers[i]);
    }
    qv_mem_free(f->alloc, f->layers, f->n_layers * sizeof(nd_layer), 0);
    f->layers = nls;
    f->n_layers = keep + 1;
  }
  qv__nd_pend_clear_all(f);
  qv__nd_spill_drop(f); /* published (it was this layer), or superseded by it */
  s = qv__nd_build_view(f, err);
  if (s == QV_OK) s = qv__nd_rebuild_names(f, err);
  if (s < 0) f->poisoned = true;
  if (base) qv__nd_cache_clear(f->cache);
out:
  if (l.w && l.w == f->spill) {
    /* Failed before the commit: the spill writer stays, for its blocks. A failed append may
     * have kept a prefix of its bytes, so where the writer ends is unknown: stop streaming
     * into it (a block appended now would be recorded at a wrong offset) and have the next
     * flush write the layer afresh, reading the blocks back. */
    f->spill_broken = true;
  } else if (l.w) {
    f->store->writer_abort(l.w);
  }
  if (l.scratch) qv__nd_raw_free(f->alloc, l.scratch, l.scap);
  qv_mbuffer_reset(&foot);
  qv__nd_arena_free(&tmp);
  return s;
}


static qv_status flush_locked(qv_nd_file *f, qv_error *err) {
  QV_TRY(qv__nd_check_writable(f, err));
  if (!f->n_pend) {
    qv__nd_spill_drop(f); /* only blocks nobody references any more */
    return QV_OK;
  }
  return qv__nd_publish(f, qv__nd_top_seq(f) + 1, false, err);
}

qv_status qv__nd_maybe_autoflush(qv_nd_file *f, qv_error *err) {
  /* memory held, plus spilled bytes no pending chunk references any more (overwritten) */
  if (f->pending_bytes + qv__nd_spill_dead(f) <= f->opts.max_pending_bytes) return QV_OK;
  return flush_locked(f, err);
}

qv_status qv_nd_flush(qv_nd_file *f, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  qv_status s = flush_locked(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

typedef struct rmlist {
  size_t prefix_len;
  uint64_t below;
  char **names;
  size_t n, cap;
  const qv_allocator *a;
  bool nomem;
} rmlist;

static int rm_cb(void *ctx, const char *name, uint64_t size) {
  (void)size;
  rmlist *l = ctx;
  uint64_t seq;
  if (!qv__nd_layer_seq(name, l->prefix_len, &seq) || seq >= l->below) return 0;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 16;
    char **nn = qv_mem_realloc(l->a, l->names, l->cap * sizeof *nn, nc * sizeof *nn, 0);
    if (!nn) {
      l->nomem = true;
      return 1;
    }
    l->names = nn;
    l->cap = nc;
  }
  l->names[l->n] = qv_mem_strdup(l->a, name);
  if (l->names[l->n]) l->n++;
  else l->nomem = true;
  return l->nomem;
}

qv_status qv_nd_compact(qv_nd_file *f, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  qv_status s = flush_locked(f, err);
  /* a stack that is already one base needs no new layer, only the removal of leftovers */
  if (s == QV_OK && f->n_layers > 1) s = qv__nd_publish(f, qv__nd_top_seq(f) + 1, true, err);
  if (s == QV_OK) {
    /* The new base is durable: only now remove the older layers (and leftovers of crashes). */
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/", f->path);
    rmlist l = {strlen(prefix), qv__nd_top_seq(f), NULL, 0, 0, f->alloc, false};
    s = f->store->list(f->store, prefix, rm_cb, &l, err);
    if (s == QV_OK && l.nomem)
      s = qv__nomem(err, "compaction succeeded but the list of old layers to remove", 0);
    for (size_t i = 0; i < l.n; i++) {
      if (s == QV_OK) {
        s = f->store->remove(f->store, l.names[i], err);
        if (s == QV_E_NOTFOUND) s = QV_OK;
        if (s == QV_OK) s = f->store->sync(f->store, l.names[i], err);
        if (s < 0) qv_error_prefix(err, "compaction succeeded but removing an old layer failed (it is ignored and removed next time): ");
      }
      qv_mem_strfree(f->alloc, l.names[i]);
    }
    qv_mem_free(f->alloc, l.names, l.cap * sizeof(char *), 0);
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}
