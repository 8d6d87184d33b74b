/*
 * model/arch_granite — IBM Granite 3.x dense models (`granite`): the llama
 * graph with four scalars: embeddings are multiplied by embedding_scale,
 * each block's output by residual_scale before it joins the residual,
 * attention uses attention.scale instead of 1/sqrt(head size), and logits
 * are divided by logit_scale. (Granite Code models use `llama`.)
 */
#include "model/model_int.h"

static int granite_load(struct hrt_model *m, struct hrt_err *err)
{
	int rc = hrt_arch_llama_like(m, err);
	if (rc)
		return rc;
	struct hrt_hparams *hp = &m->hp;
	if ((rc = hrt_hp_f32(m, "embedding_scale", &hp->embd_scale, false, err)) ||
	    (rc = hrt_hp_f32(m, "residual_scale", &hp->residual_scale, false, err)) ||
	    (rc = hrt_hp_f32(m, "attention.scale", &hp->attn_scale, false, err)) ||
	    (rc = hrt_hp_f32(m, "logit_scale", &hp->logit_scale, false, err)))
		return rc;
	if (hp->logit_scale == 0)
		return HRT_ERR(err, HRT_EFORMAT, "granite.logit_scale must not be 0");
	return HRT_OK;
}

const struct hrt_arch hrt_arch_granite = { "granite", granite_load };
