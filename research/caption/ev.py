# Usage: python ev.py NOV_JSON NOV_LABELS DEC_JSON DEC_LABELS
import sys
import numpy as np
from rows import REG, two_months
rows, _ = two_months(sys.argv[1:])
pr=[r for r in rows if r['truth'] in ('Rain','Snow')]
cl=[r for r in rows if r['truth']=='Cloudy']
for T in (245,250,255):
    print('precip rows with p30 >= %d K (tops warmer than T at the 30%% coldest pixel): %.3f of %d; Cloudy rows with p30 < %d: %.3f of %d'%(T, np.mean([r['p30']>=T for r in pr]), len(pr), T, np.mean([r['p30']<T for r in cl]), len(cl)))
# snow vs rain with surface estimate, per region best threshold on all data (optimistic)
tot=0;n=0
for k in range(13):
    rr=[r for r in pr if r['region']==k]
    if len(rr)<10: continue
    y=np.array([r['truth']=='Snow' for r in rr]); s=np.array([r['sh'] for r in rr])
    best=max((np.mean((s<=t)==y),t) for t in np.arange(250,290,0.5))
    tot+=best[0]*len(rr); n+=len(rr)
    print(REG[k][:14], len(rr), 'snow share %.2f'%y.mean(), 'best surface-threshold acc %.3f @ %.1f'%best)
print('snow/rain optimistic acc', tot/n)
